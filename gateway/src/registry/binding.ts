import {
  type Backend,
  type GraphBackend,
  type KeyValueBackend,
  type PatternName,
  PrismError,
  type TimeSeriesBackend,
} from "@prism/core";

/**
 * Where a namespace's data lives: the primary backend and, during a migration, a shadow — each
 * already wrapped in its layers (see `layers.ts`: `chunked(postgres)`, …). Pattern services talk
 * to `binding.keyvalue` / `.timeseries` / `.graph`, the top of the stack, never to a backend, so
 * shadow traffic (a layer over `chunked(primary)` and `chunked(shadow)`) attaches here without
 * touching them.
 */
export class Binding {
  /** The KeyValue stack requests of this namespace go to (undefined: the backend has none). */
  private readonly kv: KeyValueBackend | undefined;
  private readonly ts: TimeSeriesBackend | undefined;
  private readonly gr: GraphBackend | undefined;

  constructor(
    readonly primary: Backend,
    readonly shadow?: Backend,
  ) {
    this.kv = primary.keyvalue;
    this.ts = primary.timeseries;
    this.gr = primary.graph;
  }

  get keyvalue(): KeyValueBackend {
    return this.kv ?? this.missing("keyvalue");
  }

  get timeseries(): TimeSeriesBackend {
    return this.ts ?? this.missing("timeseries");
  }

  get graph(): GraphBackend {
    return this.gr ?? this.missing("graph");
  }

  private missing(pattern: PatternName): never {
    throw new PrismError("Internal", `backend ${this.primary.name} does not serve ${pattern}`);
  }
}
