import type { Env } from "../env";
import type { ExportTable } from "../legacy/export-contract";
import type { CsvRecord } from "../lib/csv";
import { runIsolated } from "../lib/d1";
import type { ConflictStore } from "./conflicts";
import type { JobCounters, JobRecord } from "./jobs";
import type { Ledger } from "./ledger";
import type { RowMerge } from "./row-merge";

/** What importing one slice of an export needs; `counters` are the step's, saved with its cursor. */
export interface ImportContext {
  env: Env;
  ledger: Ledger;
  conflicts: ConflictStore;
  job: JobRecord;
  counters: JobCounters & Required<Pick<JobCounters, "legacyChanges" | "filesDeletedOnNew" | "filtersDeletedOnNew">>;
  now: number;
}

export type Decoded<T> = { record: CsvRecord; row: T }[];

/** A D1 write for one export row, and what to count once it is written. */
export interface RowWrite {
  line: number;
  statement: D1PreparedStatement;
  done: () => void;
}

/**
 * Runs the writes of a slice (one D1 batch; one by one if it fails). A write D1 refuses, or whose row
 * the new app changed since it was read (an update that changed nothing), is a row error of its line.
 */
export async function applyWrites(ctx: ImportContext, table: ExportTable, writes: readonly RowWrite[]): Promise<void> {
  const outcomes = await runIsolated(ctx.env.DB, writes.map((w) => w.statement));
  outcomes.forEach((outcome, i) => {
    const write = writes[i]!;
    if (!outcome.ok) ctx.ledger.recordRowError(ctx.job.id, table, write.line, outcome.error);
    else if (outcome.changes === 0) ctx.ledger.recordRowError(ctx.job.id, table, write.line, "changed on the new app while being imported; the next job merges it");
    else write.done();
  });
}

/**
 * The write a merge needs, or null if the row already holds it (then `imported` is counted at once).
 * Once written, a merge that took a remote value counts as a legacy change, and its conflicts are
 * recorded.
 */
export function mergeWrite(ctx: ImportContext, merge: RowMerge, line: number, imported: () => void): RowWrite | null {
  const statement = merge.statement(ctx.env.DB);
  if (!statement) {
    imported();
    return null;
  }
  const done = () => {
    imported();
    if (merge.tookRemote.size > 0) ctx.counters.legacyChanges++;
    if (merge.conflicts.length === 0) return;
    const fields = Object.fromEntries(merge.conflicts.map((c) => [c.field, { base: c.base, local: c.local, remote: c.remote }]));
    ctx.conflicts.record(ctx.job.id, { table: merge.table, rowKey: String(merge.stored.id), field: "fields", detail: { fields }, line }, ctx.now);
  };
  return { line, statement, done };
}

/** Why a row of a legacy user that a username conflict keeps out of D1 is not imported. */
export function blockedUserDetail(userId: number, conflictId: number): string {
  return `user ${userId} is not imported: username conflict #${conflictId}; resolve it (POST /admin/conflicts/${conflictId}/resolve), then run a delta job`;
}
