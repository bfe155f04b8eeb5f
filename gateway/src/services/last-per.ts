/**
 * The last entry per key, in order of last appearance: one request naming a key, node or edge
 * twice means "last wins" on every backend. Returns `entries` itself when no key repeats.
 *
 * @example lastPer(nodes, (node) => node.id)
 */
export function lastPer<T>(entries: T[], key: (entry: T) => string): T[] {
  if (entries.length < 2) return entries;
  const byKey = new Map<string, T>();
  for (const entry of entries) {
    const k = key(entry);
    byKey.delete(k);
    byKey.set(k, entry);
  }
  return byKey.size === entries.length ? entries : [...byKey.values()];
}
