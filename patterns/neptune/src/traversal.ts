import {
  type EdgeRef,
  type GraphEdge,
  type GraphNode,
  nodeNotFound,
  type ShortestPathOptions,
  type TraversalStep,
  type TraverseOptions,
  visitBudgetExceeded,
} from "@prism/core";
import gremlin from "gremlin";
import type { GremlinLink } from "./gremlin-link.js";
import type { Layout } from "./layout.js";
import { decodeEdge, decodeNode, elementRow, field, list } from "./rows.js";

const __ = gremlin.process.statics;
const { t, scope } = gremlin.process;

/** An edge examined while expanding a level: which way it was followed and where it leads. */
interface Hop {
  edge: EdgeRef;
  /** The frontier node it was found from. */
  nearId: string;
  /** The node at the far end. */
  otherId: string;
  /** Its label, when the traversal filters on node labels. */
  otherLabel: string | undefined;
}

/**
 * Breadth-first search one level per round trip (ADR 0015): a level's traversal returns the ids
 * of the edges around the whole frontier (at most the budget left + 1, so the server never does
 * more work than the budget allows), which are examined here in order. Only the nodes and edges
 * in the answer are then read whole, in one more round trip. `repeat()/emit()` was not used:
 * Gremlin's `dedup()` across levels does not give each node its shallowest depth and via edge
 * without `path()`, which holds every path in server memory.
 */
class LevelSearch {
  examined = 0;

  constructor(
    private readonly link: GremlinLink,
    private readonly layout: Layout,
    private readonly namespace: string,
    private readonly options: Pick<TraverseOptions, "direction" | "edgeLabels" | "visitBudget" | "signal">,
    private readonly withLabels: boolean,
  ) {}

  /**
   * The edges around `frontier`, and how many of the frontier's vertices exist (0 for a missing
   * start node).
   */
  async expand(frontier: string[]): Promise<{ found: number; hops: Hop[] }> {
    const { direction, edgeLabels, visitBudget, signal } = this.options;
    const vertexIds = frontier.map((id) => this.layout.vertexId(this.namespace, id));
    const labelKey = this.layout.keys.label;
    // Each row says which side it was found on, so a self-loop counts (and leads) once per side.
    const side = (dir: "out" | "in") => {
      const edges = dir === "out" ? __.outE(...edgeLabels) : __.inE(...edgeLabels);
      const other = dir === "out" ? __.inV() : __.outV();
      const row = edges.project("e", "d", "l").by(t.id).by(__.constant(dir));
      return this.withLabels ? row.by(other.values(labelKey)) : row.by(__.constant(""));
    };
    const around = direction === "both" ? __.union(side("out"), side("in")) : side(direction);
    const left = Math.max(0, visitBudget - this.examined);
    const [row] = await this.link.run(signal, (g) =>
      g
        .V(...vertexIds)
        .fold()
        .project("n", "h")
        .by(__.count(scope.local))
        .by(
          __.unfold()
            .flatMap(around)
            .limit(left + 1)
            .fold(),
        ),
    );
    const hops = list(field(row, "h")).map((item): Hop => {
      const edge = this.layout.edgeRef(this.namespace, String(field(item, "e")));
      const label = field(item, "l");
      const out = field(item, "d") === "out";
      return {
        edge,
        nearId: out ? edge.fromId : edge.toId,
        otherId: out ? edge.toId : edge.fromId,
        otherLabel: typeof label === "string" ? label : undefined,
      };
    });
    return { found: Number(field(row, "n") ?? 0), hops };
  }

  /** Counts one examined edge, failing once the budget is exceeded. */
  examine(): void {
    this.examined += 1;
    if (this.examined > this.options.visitBudget) {
      throw visitBudgetExceeded(this.options.visitBudget);
    }
  }

  /** Reads the named nodes and edges whole, in one round trip. */
  async read(
    nodeIds: string[],
    edges: EdgeRef[],
  ): Promise<{ nodes: Map<string, GraphNode>; edges: Map<string, GraphEdge> }> {
    const vertexIds = nodeIds.map((id) => this.layout.vertexId(this.namespace, id));
    const edgeIds = edges.map((edge) => this.layout.edgeId(this.namespace, edge));
    const fromIds = [...new Set(edges.map((edge) => this.layout.vertexId(this.namespace, edge.fromId)))];
    const [row] = await this.link.run(this.options.signal, (g) =>
      g
        .inject(0)
        .project("n", "e")
        .by(
          vertexIds.length > 0
            ? __.V(...vertexIds)
                .flatMap(elementRow())
                .fold()
            : __.constant([]),
        )
        .by(edgeIds.length > 0 ? edgesById(edgeIds, fromIds).flatMap(elementRow()).fold() : __.constant([])),
    );
    const nodes = list(field(row, "n")).map((item) => decodeNode(this.layout, this.namespace, item));
    const found = list(field(row, "e")).map((item) => decodeEdge(this.layout, this.namespace, item));
    return {
      nodes: new Map(nodes.map((node) => [node.id, node])),
      edges: new Map(found.map((edge) => [this.layout.edgeId(this.namespace, edge), edge])),
    };
  }
}

/**
 * Traverse: each node once, at its shallowest depth, with the first edge found that reaches it;
 * nodes whose label is filtered out are neither returned nor expanded.
 */
export async function traverse(
  link: GremlinLink,
  layout: Layout,
  namespace: string,
  startId: string,
  options: TraverseOptions,
): Promise<TraversalStep[]> {
  const nodeLabels = new Set(options.nodeLabels);
  const search = new LevelSearch(link, layout, namespace, options, nodeLabels.size > 0);
  const reached: { id: string; depth: number; via?: EdgeRef }[] = [{ id: startId, depth: 0 }];
  const seen = new Set([startId]);
  let frontier = [startId];
  levels: for (let depth = 1; depth <= options.maxDepth && frontier.length > 0; depth++) {
    if (reached.length >= options.limit) break;
    const { found, hops } = await search.expand(frontier);
    if (depth === 1 && found === 0) throw nodeNotFound(startId);
    const next: string[] = [];
    for (const hop of hops) {
      search.examine();
      if (seen.has(hop.otherId)) continue;
      seen.add(hop.otherId);
      if (nodeLabels.size > 0 && !nodeLabels.has(hop.otherLabel ?? "")) continue;
      reached.push({ id: hop.otherId, depth, via: hop.edge });
      next.push(hop.otherId);
      if (reached.length >= options.limit) break levels;
    }
    frontier = next;
  }
  const read = await search.read(
    reached.map((step) => step.id),
    reached.flatMap((step) => step.via ?? []),
  );
  if (!read.nodes.has(startId)) throw nodeNotFound(startId);
  // A node or edge deleted while the search ran is left out rather than reported half.
  return reached.flatMap((step): TraversalStep[] => {
    const node = read.nodes.get(step.id);
    if (node === undefined) return [];
    if (step.via === undefined) return [{ node, depth: step.depth }];
    const via = read.edges.get(layout.edgeId(namespace, step.via));
    return via === undefined ? [] : [{ node, depth: step.depth, via }];
  });
}

/**
 * ShortestPath: breadth-first from `fromId` until `toId` is reached, so the first path found has
 * the fewest edges.
 */
export async function shortestPath(
  link: GremlinLink,
  layout: Layout,
  namespace: string,
  fromId: string,
  toId: string,
  options: ShortestPathOptions,
): Promise<{ nodes: GraphNode[]; edges: GraphEdge[] } | undefined> {
  const search = new LevelSearch(link, layout, namespace, options, false);
  const ends = await search.read([...new Set([fromId, toId])], []);
  for (const id of [fromId, toId]) if (!ends.nodes.has(id)) throw nodeNotFound(id);
  if (fromId === toId) return { nodes: [ends.nodes.get(fromId) as GraphNode], edges: [] };
  const parent = new Map<string, { from: string; edge: EdgeRef }>();
  const seen = new Set([fromId]);
  let frontier = [fromId];
  let found = false;
  levels: for (let depth = 1; depth <= options.maxDepth && frontier.length > 0; depth++) {
    const { hops } = await search.expand(frontier);
    const next: string[] = [];
    for (const hop of hops) {
      search.examine();
      if (seen.has(hop.otherId)) continue;
      seen.add(hop.otherId);
      parent.set(hop.otherId, { from: hop.nearId, edge: hop.edge });
      if (hop.otherId === toId) {
        found = true;
        break levels;
      }
      next.push(hop.otherId);
    }
    frontier = next;
  }
  if (!found) return undefined;
  const pathIds = [toId];
  const pathEdges: EdgeRef[] = [];
  for (let step = parent.get(toId); step !== undefined; step = parent.get(step.from)) {
    pathIds.unshift(step.from);
    pathEdges.unshift(step.edge);
  }
  const read = await search.read(pathIds, pathEdges);
  const nodes = pathIds.map((id) => read.nodes.get(id));
  const edges = pathEdges.map((edge) => read.edges.get(layout.edgeId(namespace, edge)));
  // A node or edge of the path was deleted meanwhile: there is no such path any more.
  if (nodes.some((node) => node === undefined) || edges.some((edge) => edge === undefined)) return undefined;
  return { nodes: nodes as GraphNode[], edges: edges as GraphEdge[] };
}

/** Edges by id, found from their source vertices (mid-traversal E() needs TinkerPop 3.7). */
function edgesById(edgeIds: string[], fromVertexIds: string[]): gremlin.process.GraphTraversal {
  return __.V(...fromVertexIds)
    .outE()
    .hasId(...edgeIds);
}
