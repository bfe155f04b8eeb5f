/**
 * The part of better-sqlite3 this package uses, so the backend depends on behaviour rather than
 * on the driver's full type surface.
 */
export interface SqliteStatement {
  run(params: Record<string, unknown>): { changes: number };
  get(params: Record<string, unknown>): unknown;
  iterate(params: Record<string, unknown>): IterableIterator<unknown>;
}

export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): unknown;
  pragma(sql: string, options?: { simple?: boolean }): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: mirrors better-sqlite3's generic transaction wrapper.
  transaction<F extends (...args: any[]) => any>(fn: F): F;
  close(): unknown;
  readonly open: boolean;
}
