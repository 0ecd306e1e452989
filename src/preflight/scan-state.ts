import type { RowMerge } from "../coordinator/row-merge";
import type { Env } from "../env";
import type { ExportTable } from "../legacy/export-contract";
import { selectIn } from "../sync/select-in";
import type { Rename } from "./coordinator-conflicts";
import type { IdBudget, RememberedIds } from "./remembered-ids";
import type { Reservoir } from "./reservoir";
import type { Tally } from "./tally";

/** A file the job would copy, as the origin sample needs it. */
export interface SamplePick {
  fileId: string;
  line: number;
  /** Path relative to LEGACY_MEDIA_ROOT, validated. */
  path: string;
  declared: number | null;
}

export interface TableCounts {
  users: { rows: number; wouldImport: number };
  filters: { rows: number; wouldImport: number; deletedOnNew: number };
  files: { rows: number; wouldCopy: number; alreadyInD1: number; deletedOnNew: number; bytesDeclared: number; undeclaredSize: number };
}

/** What a preflight carries from one batch to the next, and from users.csv to files.csv. */
export interface ScanState {
  env: Env;
  tally: Tally;
  counts: TableCounts;
  budget: IdBudget;
  /** rename-legacy decisions (the coordinator's import_renames), by legacy user id. */
  renames: ReadonlyMap<number, Rename>;
  /** Legacy users the export would insert into D1 (users it merges are in D1 already). */
  newUsers: RememberedIds<number>;
  /** Legacy users a username conflict would keep out of D1. */
  blockedUsers: RememberedIds<number>;
  /** The file_ids that became items (a later row with one is a duplicate). */
  items: RememberedIds<string>;
  sample: Reservoir<SamplePick>;
  maxFileSize: number;
}

export function emptyCounts(): TableCounts {
  return {
    users: { rows: 0, wouldImport: 0 },
    filters: { rows: 0, wouldImport: 0, deletedOnNew: 0 },
    files: { rows: 0, wouldCopy: 0, alreadyInD1: 0, deletedOnNew: 0, bytesDeclared: 0, undeclaredSize: 0 },
  };
}

/** Reads of the users among `userIds` that D1 holds, skipping those this export would insert. */
export function selectD1Users(state: ScanState, userIds: readonly number[]): D1PreparedStatement[] {
  return selectIn(state.env.DB, `SELECT id FROM users WHERE id IN`, userIds.filter((id) => !state.newUsers.has(id)));
}

/** Whether a job would find user `id` in D1 by the time it plans files (or filters). */
export function knownUser(state: ScanState, d1Users: ReadonlySet<number>, id: number): boolean {
  return state.newUsers.has(id) || d1Users.has(id);
}

export function countRows(state: ScanState, table: ExportTable, rows: number, bad: readonly { line: number; error: string }[]): void {
  state.counts[table].rows += rows + bad.length;
  for (const { line, error } of bad) state.tally.note(table, line, "bad_row", error);
}

/** Notes a merge with fields changed on both sides (the job records one changed_on_both_sides conflict for it). */
export function notedMerge(state: ScanState, table: ExportTable, line: number, merge: RowMerge): void {
  if (merge.conflicts.length === 0) return;
  const fields = merge.conflicts.map((c) => c.field).join(", ");
  state.tally.note(table, line, "changed_on_both_sides", `${merge.table} ${merge.stored.id}: changed on both sides (${fields}); the new app's values would be kept`);
}
