/** D1 helpers shared by the export import and the copy consumer. */

/** The current time as the ISO 8601 text every D1 timestamp column holds. */
export const SQL_NOW = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

/**
 * Users, files (their `num`) and saved filters created by the new app are numbered above this, far
 * above any legacy id, so that rows imported later (delta jobs during the canary) never collide.
 */
export const FIRST_NEW_ID = 1_000_000_000;

/** A user (file, filter) the new app created, which legacy has never heard of. */
export function createdByNewApp(id: number): boolean {
  return id > FIRST_NEW_ID;
}

/** Ids per `IN (...)` query, within D1's limit of 100 bound parameters. */
export const D1_MAX_IDS = 90;

/** `ids` in slices that each fit one D1 query. */
export function idChunks<T>(ids: readonly T[]): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < ids.length; i += D1_MAX_IDS) chunks.push(ids.slice(i, i + D1_MAX_IDS));
  return chunks;
}

export type StatementOutcome = { ok: true; changes: number } | { ok: false; error: string };

/**
 * Runs statements as one D1 batch (one transaction); if the batch fails, runs them one by one so
 * that a single row breaking a constraint is reported on its own instead of sinking its neighbours.
 */
export async function runIsolated(db: D1Database, statements: D1PreparedStatement[]): Promise<StatementOutcome[]> {
  if (statements.length === 0) return [];
  try {
    const results = await db.batch(statements);
    return results.map((r) => ({ ok: true, changes: r.meta.changes ?? 0 }));
  } catch {
    const outcomes: StatementOutcome[] = [];
    for (const statement of statements) {
      try {
        const r = await statement.run();
        outcomes.push({ ok: true, changes: r.meta.changes ?? 0 });
      } catch (e) {
        // Only a constraint is the row's fault; anything else (no table, an outage) fails the step.
        if (!isConstraintError(e)) throw e;
        outcomes.push({ ok: false, error: d1Message(e) });
      }
    }
    return outcomes;
  }
}

export function d1Message(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.replace(/^D1_ERROR:\s*/, "").replace(/: SQLITE_CONSTRAINT.*$/, "");
}


export function isConstraintError(e: unknown): boolean {
  return /constraint failed|SQLITE_CONSTRAINT|datatype mismatch/i.test(e instanceof Error ? e.message : String(e));
}
