import type { CallOptions, WriteOptions } from "./keyvalue.js";

/**
 * The Graph pattern: a property graph per namespace. Implemented by a later change; declared here
 * so the gateway and backends are designed for it.
 */
export type PropertyValue = string | bigint | number | boolean | Uint8Array;

export interface GraphNode {
  id: string;
  label: string;
  properties: Record<string, PropertyValue>;
}

export interface GraphEdge {
  fromId: string;
  toId: string;
  label: string;
  properties: Record<string, PropertyValue>;
}

export type EdgeRef = Pick<GraphEdge, "fromId" | "toId" | "label">;

export type Direction = "out" | "in" | "both";

export interface GraphCapabilities {
  /** Traverse and ShortestPath run inside the store rather than hop by hop from the gateway. */
  nativeTraversal: boolean;
}

export interface GraphBackend {
  readonly capabilities: GraphCapabilities;
  upsertNodes(namespace: string, nodes: GraphNode[], options: WriteOptions): Promise<number>;
  upsertEdges(namespace: string, edges: GraphEdge[], options: WriteOptions): Promise<number>;
  getNodes(namespace: string, ids: string[], options: CallOptions): Promise<GraphNode[]>;
  deleteNodes(namespace: string, ids: string[], options: WriteOptions): Promise<number>;
  deleteEdges(namespace: string, edges: EdgeRef[], options: WriteOptions): Promise<number>;
  neighbors(
    namespace: string,
    nodeId: string,
    options: CallOptions & { direction: Direction; edgeLabels: string[]; limit: number; after?: string },
  ): Promise<{ neighbors: { edge: GraphEdge; node: GraphNode }[]; next?: string }>;
}
