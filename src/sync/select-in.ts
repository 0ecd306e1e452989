import { idChunks } from "../lib/d1";

/**
 * `${prefix} (?, ?, …)` over `values`, as statements of at most D1_MAX_IDS values each (D1 allows 100
 * bound parameters); `before` are bound ahead of the values (at most 10).
 */
export function selectIn(db: D1Database, prefix: string, values: readonly (string | number)[], before: readonly (string | number)[] = []): D1PreparedStatement[] {
  return idChunks([...new Set(values)]).map((chunk) => db.prepare(`${prefix} (${chunk.map(() => "?").join(", ")})`).bind(...before, ...chunk));
}

/** Runs groups of reads in one D1 round trip; returns the rows of each group. */
export async function batchRead(db: D1Database, groups: readonly D1PreparedStatement[][]): Promise<Record<string, unknown>[][]> {
  const flat = groups.flat();
  const results = flat.length > 0 ? await db.batch<Record<string, unknown>>(flat) : [];
  let next = 0;
  return groups.map((group) => results.slice(next, (next += group.length)).flatMap((r) => r.results));
}
