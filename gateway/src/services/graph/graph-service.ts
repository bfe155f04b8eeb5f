import type { GraphBackend } from "@prism/core";
import { traversalStepBytes } from "@prism/proto/grpc";
import type {
  DeleteEdgesRequest,
  DeleteEdgesResponse,
  DeleteNodesRequest,
  DeleteNodesResponse,
  GetNodesRequest,
  GetNodesResponse,
  GraphService as GraphServiceDesc,
  NeighborsRequest,
  NeighborsResponse,
  ShortestPathRequest,
  ShortestPathResponse,
  TraversalStep,
  TraverseRequest,
  TraverseResponse,
  UpsertEdgesRequest,
  UpsertEdgesResponse,
  UpsertNodesRequest,
  UpsertNodesResponse,
} from "@prism/proto/prism/graph/v1/graph";
import type { GraphSettings } from "../../config/gateway-config.js";
import type { NamespacedContext } from "../../context.js";
import type { PatternPolicy } from "../../pipeline/serve.js";
import { invalid } from "../keyvalue/validate.js";
import { lastPer } from "../last-per.js";
import { decodeNeighborsToken, encodeNeighborsToken, type NeighborsShape } from "./page-token.js";
import {
  checkCount,
  checkLabels,
  checkNodeId,
  checkNodeIds,
  toDirection,
  toEdge,
  toEdgeMessage,
  toEdgeRef,
  toNode,
  toNodeMessage,
} from "./validate.js";

/** Routing of Graph calls: which methods read and which write a namespace's data. */
export const GRAPH_POLICY: PatternPolicy<(typeof GraphServiceDesc)["method"]> = {
  pattern: "graph",
  access: {
    upsertNodes: "write",
    upsertEdges: "write",
    getNodes: "read",
    deleteNodes: "write",
    deleteEdges: "write",
    neighbors: "read",
    traverse: "read",
    shortestPath: "read",
  },
};

/**
 * prism.graph.v1.GraphService: validates ids, labels and typed properties, pages Neighbors with
 * tokens bound to the request, and bounds every traversal — depth capped by the gateway, a result
 * limit, and the namespace's visit budget (edges examined) enforced by the backend. Data goes to
 * `binding.graph`.
 *
 * Upserts and deletes are idempotent by nature (an upsert replaces, a delete of what is gone
 * counts nothing), so their idempotency tokens need no store.
 */
export class GraphService {
  constructor(private readonly settings: GraphSettings) {}

  async upsertNodes(request: UpsertNodesRequest, ctx: NamespacedContext): Promise<UpsertNodesResponse> {
    const { graph, name } = target(ctx);
    checkCount(request.nodes.length, "nodes", this.settings);
    const nodes = request.nodes.map((node, i) => toNode(node, `nodes[${i}]`, this.settings));
    const upserted = await graph.upsertNodes(
      name,
      lastPer(nodes, (node) => node.id),
      { signal: ctx.signal },
    );
    return { $typeName: "prism.graph.v1.UpsertNodesResponse", upserted };
  }

  async upsertEdges(request: UpsertEdgesRequest, ctx: NamespacedContext): Promise<UpsertEdgesResponse> {
    const { graph, name } = target(ctx);
    checkCount(request.edges.length, "edges", this.settings);
    const edges = request.edges.map((edge, i) => toEdge(edge, `edges[${i}]`, this.settings));
    const upserted = await graph.upsertEdges(name, lastPer(edges, edgeKey), { signal: ctx.signal });
    return { $typeName: "prism.graph.v1.UpsertEdgesResponse", upserted };
  }

  async getNodes(request: GetNodesRequest, ctx: NamespacedContext): Promise<GetNodesResponse> {
    const { graph, name } = target(ctx);
    checkCount(request.ids.length, "ids", this.settings);
    checkNodeIds(request.ids, this.settings);
    const ids = [...new Set(request.ids)];
    const nodes = await graph.getNodes(name, ids, { signal: ctx.signal });
    const found = new Set(nodes.map((node) => node.id));
    return {
      $typeName: "prism.graph.v1.GetNodesResponse",
      nodes: nodes.map(toNodeMessage),
      missingIds: ids.filter((id) => !found.has(id)),
    };
  }

  async deleteNodes(request: DeleteNodesRequest, ctx: NamespacedContext): Promise<DeleteNodesResponse> {
    const { graph, name } = target(ctx);
    checkCount(request.ids.length, "ids", this.settings);
    checkNodeIds(request.ids, this.settings);
    const deleted = await graph.deleteNodes(name, [...new Set(request.ids)], { signal: ctx.signal });
    return { $typeName: "prism.graph.v1.DeleteNodesResponse", deleted };
  }

  async deleteEdges(request: DeleteEdgesRequest, ctx: NamespacedContext): Promise<DeleteEdgesResponse> {
    const { graph, name } = target(ctx);
    checkCount(request.edges.length, "edges", this.settings);
    const edges = request.edges.map((edge, i) => toEdgeRef(edge, `edges[${i}]`, this.settings));
    const deleted = await graph.deleteEdges(name, edges, { signal: ctx.signal });
    return { $typeName: "prism.graph.v1.DeleteEdgesResponse", deleted };
  }

  async neighbors(request: NeighborsRequest, ctx: NamespacedContext): Promise<NeighborsResponse> {
    const { graph, name } = target(ctx);
    const shape: NeighborsShape = {
      namespace: name,
      nodeId: checkNodeId(request.nodeId, "node_id", this.settings),
      direction: toDirection(request.direction),
      edgeLabels: checkLabels(request.edgeLabels, "edge_labels", this.settings),
    };
    const after = request.pageToken ? decodeNeighborsToken(request.pageToken, shape) : undefined;
    const limit = Math.min(
      request.pageSize || this.settings.defaultNeighborsPage,
      this.settings.maxNeighborsPage,
    );
    const page = await graph.neighbors(name, shape.nodeId, {
      signal: ctx.signal,
      direction: shape.direction,
      edgeLabels: shape.edgeLabels,
      limit,
      ...(after && { after }),
    });
    const last = page.neighbors.at(-1);
    return {
      $typeName: "prism.graph.v1.NeighborsResponse",
      neighbors: page.neighbors.map(({ edge, node }) => ({
        $typeName: "prism.graph.v1.Neighbor",
        edge: toEdgeMessage(edge),
        node: toNodeMessage(node),
      })),
      nextPageToken:
        page.more && last
          ? encodeNeighborsToken(shape, {
              nodeId: last.node.id,
              label: last.edge.label,
              direction: last.direction,
            })
          : "",
    };
  }

  /**
   * Breadth-first from the start node, in order of depth, as few messages as fit
   * `graph.traverseMessageBytes`: grpc-js spends about 0.1 ms per streamed message, which was
   * most of a 2-hop traversal's time when every node was a message of its own.
   */
  async *traverse(request: TraverseRequest, ctx: NamespacedContext): AsyncIterable<TraverseResponse> {
    const { graph, name, visitBudget } = target(ctx);
    const startId = checkNodeId(request.startId, "start_id", this.settings);
    if (request.maxDepth === 0) {
      throw invalid("max_depth", `is required: 1 to ${this.settings.maxDepth}`, "INVALID_DEPTH");
    }
    const steps = await graph.traverse(name, startId, {
      signal: ctx.signal,
      direction: toDirection(request.direction),
      maxDepth: Math.min(request.maxDepth, this.settings.maxDepth),
      edgeLabels: checkLabels(request.edgeLabels, "edge_labels", this.settings),
      nodeLabels: checkLabels(request.nodeLabels, "node_labels", this.settings),
      limit: Math.min(request.limit || this.settings.defaultTraverseLimit, this.settings.maxTraverseLimit),
      visitBudget,
    });
    let batch: TraversalStep[] = [];
    let bytes = 0;
    for (const step of steps) {
      const message: TraversalStep = {
        $typeName: "prism.graph.v1.TraversalStep",
        node: toNodeMessage(step.node),
        depth: step.depth,
        via: step.via ? toEdgeMessage(step.via) : undefined,
      };
      const size = traversalStepBytes(message) + 6;
      if (batch.length > 0 && bytes + size > this.settings.traverseMessageBytes) {
        yield { $typeName: "prism.graph.v1.TraverseResponse", steps: batch };
        batch = [];
        bytes = 0;
      }
      batch.push(message);
      bytes += size;
    }
    if (batch.length > 0) yield { $typeName: "prism.graph.v1.TraverseResponse", steps: batch };
  }

  async shortestPath(request: ShortestPathRequest, ctx: NamespacedContext): Promise<ShortestPathResponse> {
    const { graph, name, visitBudget } = target(ctx);
    const fromId = checkNodeId(request.fromId, "from_id", this.settings);
    const toId = checkNodeId(request.toId, "to_id", this.settings);
    const path = await graph.shortestPath(name, fromId, toId, {
      signal: ctx.signal,
      direction: toDirection(request.direction),
      // Unset = as deep as the gateway allows.
      maxDepth: Math.min(request.maxDepth || this.settings.maxDepth, this.settings.maxDepth),
      edgeLabels: checkLabels(request.edgeLabels, "edge_labels", this.settings),
      visitBudget,
    });
    return {
      $typeName: "prism.graph.v1.ShortestPathResponse",
      found: path !== undefined,
      nodes: path?.nodes.map(toNodeMessage) ?? [],
      edges: path?.edges.map(toEdgeMessage) ?? [],
    };
  }
}

function edgeKey(edge: { fromId: string; toId: string; label: string }): string {
  return `${edge.fromId}\u0000${edge.toId}\u0000${edge.label}`;
}

function target(ctx: NamespacedContext): { graph: GraphBackend; name: string; visitBudget: number } {
  const { binding, spec, graphVisitBudget } = ctx.namespace;
  return { graph: binding.graph, name: spec.name, visitBudget: graphVisitBudget };
}
