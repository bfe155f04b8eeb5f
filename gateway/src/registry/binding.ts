import {
  type Backend,
  type GraphBackend,
  type KeyValueBackend,
  type PatternName,
  PrismError,
  type TimeSeriesBackend,
} from "@prism/core";
import { ShadowGraph } from "../shadow/shadow-graph.js";
import { ShadowKeyValue } from "../shadow/shadow-keyvalue.js";
import type { ShadowState } from "../shadow/shadow-state.js";
import { ShadowTimeSeries } from "../shadow/shadow-timeseries.js";

/**
 * Where a namespace's data lives: the primary backend and, during a migration, a shadow — each
 * already wrapped in its layers (see `layers.ts`: `chunked(postgres)`, …). Pattern services talk
 * to `binding.keyvalue` / `.timeseries` / `.graph`, the top of the stack, never to a backend. With
 * a shadow, the top is the shadow layer over both stacks (`ShadowKeyValue` over `chunked(primary)`
 * and `chunked(shadow)`, …), driven by the namespace's `ShadowState`.
 */
export class Binding {
  /** The KeyValue stack requests of this namespace go to (undefined: the backend has none). */
  private readonly kv: KeyValueBackend | undefined;
  private readonly ts: TimeSeriesBackend | undefined;
  private readonly gr: GraphBackend | undefined;

  constructor(
    readonly primary: Backend,
    readonly shadow?: Backend,
    readonly shadowState?: ShadowState,
  ) {
    const { keyvalue, timeseries, graph } = primary;
    if (!shadow || !shadowState) {
      this.kv = keyvalue;
      this.ts = timeseries;
      this.gr = graph;
      return;
    }
    this.kv = keyvalue && shadow.keyvalue && new ShadowKeyValue(keyvalue, shadow.keyvalue, shadowState);
    this.ts =
      timeseries && shadow.timeseries && new ShadowTimeSeries(timeseries, shadow.timeseries, shadowState);
    this.gr = graph && shadow.graph && new ShadowGraph(graph, shadow.graph, shadowState);
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
