import type { ItemState, JobIdentity } from "./model";

/** What became of one item, as a job report lists it. */
export const REPORT_OUTCOMES = ["transferred", "skipped_identical", "verified", "failed", "pending", "leased"] as const;
export type ReportOutcome = (typeof REPORT_OUTCOMES)[number];

/** The most entries one report page holds. */
export const MAX_REPORT_PAGE = 1_000;

export interface ReportItem {
  fileId: string;
  outcome: ReportOutcome;
  /** The legacy file_path, as the export (or, for verify jobs, D1) records it. */
  sourcePath: string | null;
  r2Key: string;
  bytes: number | null;
  sha256: string | null;
  attempts: number;
  /** The failure reason (failed items), or the last transient one (pending items being retried). */
  reason: string | null;
  detail: string | null;
}

/** A bad export row (reason is always invalid_row, as in the failures list). */
export interface ReportRowError {
  table: string;
  line: number;
  reason: string;
  detail: string;
}

/** An import conflict the job met (open or resolved since). */
export interface ReportConflict {
  conflictId: number;
  table: string;
  fileId: string | null;
  line: number | null;
  reason: string;
  detail: string;
}

export interface ReportSummary {
  transferred: number;
  skippedIdentical: number;
  verified: number;
  failed: number;
  pending: number;
  leased: number;
  rowErrors: number;
  conflicts: number;
}

export interface ReportHead {
  job: Pick<JobIdentity, "id" | "kind" | "state">;
  summary: ReportSummary;
}

/** One page of a keyset-paged list; `next` is the cursor of the following page, null after the last. */
export interface ReportPage<T, C> {
  entries: T[];
  next: C | null;
}

/** Row errors are ordered by export table, then line. */
export interface RowErrorCursor {
  table: string;
  line: number;
}

/** How a report names an item in `state`: done means verified for verify and reverse jobs, else copied or found identical. */
export function reportOutcome(state: ItemState, identical: boolean, verifies: boolean): ReportOutcome {
  if (state !== "done") return state;
  if (verifies) return "verified";
  return identical ? "skipped_identical" : "transferred";
}

/** A page of at most `limit` entries, ordered by the cursor `cursorOf` gives: a short page is the last. */
export function pageOf<T, C>(entries: T[], limit: number, cursorOf: (last: T) => C): ReportPage<T, C> {
  return { entries, next: entries.length < limit ? null : cursorOf(entries.at(-1)!) };
}
