import type { Decoded } from "../coordinator/import-writes";
import type { Env } from "../env";
import { coordinator, maxFileSize } from "../env";
import type { ExportRow, ExportTable } from "../legacy/export-contract";
import { checkFiles } from "./check-files";
import { checkFilters } from "./check-filters";
import { checkUsers } from "./check-users";
import { knownConflicts } from "./coordinator-conflicts";
import { estimateDuration, type Estimate } from "./estimate";
import { exportBatches, openExportSet, UnreadableExport } from "./export-scan";
import { headSample, type SampleReport } from "./origin-sample";
import { IdBudget, RememberedIds, uuidKey } from "./remembered-ids";
import { Reservoir } from "./reservoir";
import { countRows, emptyCounts, type ScanState, type TableCounts } from "./scan-state";
import { Tally, type Problem } from "./tally";

export interface PreflightInput {
  exportSet: string;
  /** Files whose HEAD the legacy origin is asked for (0–200). */
  sample: number;
}

export interface PreflightReport {
  exportSet: string;
  exportedAt: string;
  users: TableCounts["users"];
  filters: TableCounts["filters"];
  files: TableCounts["files"];
  /** Rows a job would refuse (row errors, or items failed at planning or certain to fail). */
  refused: {
    badRows: Record<ExportTable, number>;
    unsafePath: number;
    unknownUser: number;
    duplicateFileId: number;
    tooLarge: number;
    userInConflict: { filters: number; files: number };
    filterUnknownUser: number;
  };
  /** Conflicts with what D1 holds now, as the import would meet them. */
  conflicts: {
    username: number;
    email: number;
    fileIdHeld: number;
    idHeld: { users: number; filters: number };
    changedOnBothSides: { users: number; filters: number; files: number };
    /** Open in the coordinator already (met by earlier jobs); not part of the counts above unless D1 still makes them. */
    openInCoordinator: number;
  };
  sample: SampleReport;
  estimate: Estimate;
  problems: Problem[];
  /** Where a job on this export would fail (an unreadable table); the scan stops there too. */
  jobWouldFail: null | { table: ExportTable; error: string };
  truncated: false | { reason: string };
  durationMs: number;
}

/**
 * A dry run of a full job on an export set: reads the export and D1, asks the coordinator for its
 * conflicts and jobs and the legacy origin for the HEAD of a sample, and writes nothing anywhere.
 */
export async function runPreflight(env: Env, input: PreflightInput, limits: { maxRememberedIds?: number } = {}): Promise<PreflightReport> {
  const started = Date.now();
  const set = await openExportSet(env, input.exportSet);
  const stub = coordinator(env);
  const [known, jobs] = await Promise.all([knownConflicts(stub), stub.listJobs()]);
  const budget = new IdBudget(limits.maxRememberedIds);
  const state: ScanState = {
    env,
    tally: new Tally(),
    counts: emptyCounts(),
    budget,
    renames: known.renames,
    newUsers: new RememberedIds<number>(budget),
    blockedUsers: new RememberedIds<number>(budget),
    items: new RememberedIds<string>(budget, uuidKey),
    sample: new Reservoir(input.sample),
    maxFileSize: maxFileSize(env),
  };
  const { truncated, jobWouldFail } = await scanExport(state, set.name);
  const sample = await headSample(env, state.sample.items, state.maxFileSize);
  const { tally: t, counts } = state;
  return {
    exportSet: set.name,
    exportedAt: set.exportedAt,
    ...counts,
    refused: {
      badRows: { users: t.count("users", "bad_row"), filters: t.count("filters", "bad_row"), files: t.count("files", "bad_row") },
      unsafePath: t.count("files", "unsafe_path"),
      unknownUser: t.count("files", "unknown_user"),
      duplicateFileId: t.count("files", "duplicate_file_id"),
      tooLarge: t.count("files", "too_large"),
      userInConflict: { filters: t.count("filters", "user_in_conflict"), files: t.count("files", "user_in_conflict") },
      filterUnknownUser: t.count("filters", "unknown_user"),
    },
    conflicts: {
      username: t.count("users", "username_taken"),
      email: t.count("users", "email_taken"),
      fileIdHeld: t.count("files", "file_id_held"),
      idHeld: { users: t.count("users", "id_held"), filters: t.count("filters", "id_held") },
      changedOnBothSides: { users: t.count("users", "changed_on_both_sides"), filters: t.count("filters", "changed_on_both_sides"), files: t.count("files", "changed_on_both_sides") },
      openInCoordinator: known.open,
    },
    sample,
    estimate: estimateDuration(jobs, counts.files, sample),
    problems: t.problems,
    jobWouldFail,
    truncated,
    durationMs: Date.now() - started,
  };
}

type Check<T extends ExportTable> = (state: ScanState, rows: Decoded<ExportRow<T>>) => Promise<void>;

/** The tables in the planner's order (users, filters, files), each row checked once. */
async function scanExport(state: ScanState, set: string): Promise<Pick<PreflightReport, "truncated" | "jobWouldFail">> {
  try {
    const stopped =
      (await scanTable(state, set, "users", checkUsers, true)) ??
      (await scanTable(state, set, "filters", checkFilters, false)) ??
      (await scanTable(state, set, "files", checkFiles, true));
    return { truncated: stopped ? { reason: stopped } : false, jobWouldFail: null };
  } catch (e) {
    if (e instanceof UnreadableExport) return { truncated: false, jobWouldFail: { table: e.table, error: e.message } };
    throw e;
  }
}

/** Checks every batch of `table`; stops before a batch whose ids might not fit the budget, and says where. */
async function scanTable<T extends ExportTable>(state: ScanState, set: string, table: T, check: Check<T>, remembers: boolean): Promise<string | null> {
  for await (const batch of exportBatches(state.env, set, table)) {
    if (remembers && !state.budget.fits(batch.rows.length)) {
      return `the preflight remembers at most ${state.budget.limit} ids (users and file_ids); it stopped before ${table}.csv line ${batch.line}, and its counts cover the rows before that line`;
    }
    countRows(state, table, batch.rows.length, batch.bad);
    await check(state, batch.rows);
  }
  return null;
}
