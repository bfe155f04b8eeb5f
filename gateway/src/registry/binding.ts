import { type Backend, type KeyValueBackend, PrismError } from "@prism/core";

/**
 * Where a namespace's data lives: the primary backend and, during a migration, a shadow. Pattern
 * services talk to the binding, never to a backend directly, so shadow traffic attaches here
 * without touching them.
 */
export class Binding {
  constructor(
    readonly primary: Backend,
    readonly shadow?: Backend,
  ) {}

  /** The KeyValue store requests of this namespace go to. */
  get keyvalue(): KeyValueBackend {
    const kv = this.primary.keyvalue;
    if (!kv) throw new PrismError("Internal", `backend ${this.primary.name} does not serve keyvalue`);
    return kv;
  }
}
