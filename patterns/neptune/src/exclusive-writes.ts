import type { GraphBackend } from "@prism/core";

/**
 * Readers share the store, a writer has it alone, in arrival order. Gremlin Server's TinkerGraph
 * (the stack's Neptune stand-in) is not safe under concurrent mutation: a write racing another
 * write or a read of the same vertex fails inside the server ("Index 60 out of bounds"). Neptune
 * itself is transactional and does not need this (`exclusiveWrites: false`).
 */
export class ReadWriteLock {
  /** Readers holding the lock, or −1 while a writer does. */
  private holders = 0;
  private readonly waiting: { write: boolean; go: () => void }[] = [];

  async run<T>(write: boolean, work: () => Promise<T>): Promise<T> {
    if (this.waiting.length > 0 || !this.free(write)) {
      await new Promise<void>((go) => this.waiting.push({ write, go }));
    } else {
      this.take(write);
    }
    try {
      return await work();
    } finally {
      this.holders = write ? 0 : this.holders - 1;
      this.admit();
    }
  }

  private free(write: boolean): boolean {
    return write ? this.holders === 0 : this.holders >= 0;
  }

  private take(write: boolean): void {
    this.holders = write ? -1 : this.holders + 1;
  }

  /** Lets in, in order, every waiter that fits: a run of readers, or one writer. */
  private admit(): void {
    while (this.waiting.length > 0 && this.free(this.waiting[0]!.write)) {
      const next = this.waiting.shift()!;
      this.take(next.write);
      next.go();
      if (next.write) return;
    }
  }
}

/** `graph` with its writes exclusive and its reads shared (see {@link ReadWriteLock}). */
export function exclusiveWrites(graph: GraphBackend): GraphBackend {
  const lock = new ReadWriteLock();
  return {
    capabilities: graph.capabilities,
    upsertNodes: (...args) => lock.run(true, () => graph.upsertNodes(...args)),
    upsertEdges: (...args) => lock.run(true, () => graph.upsertEdges(...args)),
    deleteNodes: (...args) => lock.run(true, () => graph.deleteNodes(...args)),
    deleteEdges: (...args) => lock.run(true, () => graph.deleteEdges(...args)),
    getNodes: (...args) => lock.run(false, () => graph.getNodes(...args)),
    neighbors: (...args) => lock.run(false, () => graph.neighbors(...args)),
    traverse: (...args) => lock.run(false, () => graph.traverse(...args)),
    shortestPath: (...args) => lock.run(false, () => graph.shortestPath(...args)),
    getEdges: (...args) => lock.run(false, () => graph.getEdges(...args)),
    scanNodes: (...args) => lock.run(false, () => graph.scanNodes(...args)),
    scanEdges: (...args) => lock.run(false, () => graph.scanEdges(...args)),
  };
}
