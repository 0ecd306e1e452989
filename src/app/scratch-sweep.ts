import type { Env } from "../env";

/** csv_cutter uploads are kept this long, to be cut; then the hourly sweep removes them. */
export const SCRATCH_TTL_MS = 24 * 60 * 60 * 1000;
/** Rows and objects one round looks at (R2 deletes up to 1,000 keys at once), and rounds per run: 10,000 uploads an hour. */
const SWEEP_BATCH = 500;
const SWEEP_ROUNDS = 20;
const SWEEP_CURSOR_KEY = "sweep:scratch:cursor";

export interface SweepResult {
  rows: number;
  objects: number;
}

/**
 * Removes csv_cutter scratch uploads older than SCRATCH_TTL_MS: their D1 rows with their R2
 * objects, then any `cuts/` object that is that old and has no row (an upload that failed after its
 * file part was stored).
 */
export async function sweepScratch(env: Env, now = Date.now()): Promise<SweepResult> {
  const total: SweepResult = { rows: 0, objects: 0 };
  for (let round = 0; round < SWEEP_ROUNDS; round++) {
    const swept = await sweepRound(env, new Date(now - SCRATCH_TTL_MS));
    total.rows += swept.rows;
    total.objects += swept.objects;
    if (!swept.more) break;
  }
  return total;
}

async function sweepRound(env: Env, cutoff: Date): Promise<SweepResult & { more: boolean }> {
  const expired = await env.DB.prepare(`SELECT id, r2_key FROM scratch_files WHERE created_at < ? ORDER BY created_at LIMIT ?`)
    .bind(cutoff.toISOString(), SWEEP_BATCH)
    .all<{ id: string; r2_key: string }>();
  const rows = expired.results;
  if (rows.length > 0) {
    await env.FILES.delete(rows.map((r) => r.r2_key));
    await env.DB.batch(rows.map((r) => env.DB.prepare(`DELETE FROM scratch_files WHERE id = ?`).bind(r.id)));
  }
  // Orphans are found by walking `cuts/` a page per run, resuming where the last run stopped.
  const cursor = (await env.AUTH_TOKENS.get(SWEEP_CURSOR_KEY)) ?? undefined;
  const listed = await env.FILES.list({ prefix: "cuts/", limit: SWEEP_BATCH, cursor });
  if (listed.truncated) await env.AUTH_TOKENS.put(SWEEP_CURSOR_KEY, listed.cursor);
  else if (cursor) await env.AUTH_TOKENS.delete(SWEEP_CURSOR_KEY);
  const old = listed.objects.filter((o) => o.uploaded < cutoff).map((o) => o.key);
  let orphans: string[] = [];
  if (old.length > 0) {
    const known = await env.DB.prepare(`SELECT r2_key FROM scratch_files WHERE r2_key IN (SELECT value FROM json_each(?))`).bind(JSON.stringify(old)).all<{ r2_key: string }>();
    const kept = new Set(known.results.map((r) => r.r2_key));
    orphans = old.filter((key) => !kept.has(key));
    if (orphans.length > 0) await env.FILES.delete(orphans);
  }
  return { rows: rows.length, objects: rows.length + orphans.length, more: rows.length === SWEEP_BATCH || listed.truncated };
}
