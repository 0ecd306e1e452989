import type { ExportTable } from "../legacy/export-contract";

/**
 * Why a preflight counts an export row: the job's own reasons where it has one (a failure reason or
 * a conflict reason), so that a preflight and the job that follows it speak of the same things.
 */
export type ProblemReason =
  | "bad_row"
  | "unsafe_path"
  | "unknown_user"
  | "duplicate_file_id"
  | "too_large"
  | "user_in_conflict"
  | "username_taken"
  | "email_taken"
  | "file_id_held"
  | "id_held"
  | "changed_on_both_sides";

export interface Problem {
  table: ExportTable;
  line: number;
  reason: ProblemReason;
  detail: string;
}

export const MAX_PROBLEMS = 100;

/** Counts per table and reason, and the first MAX_PROBLEMS problems in the order they were met. */
export class Tally {
  readonly problems: Problem[] = [];
  readonly #counts = new Map<string, number>();

  note(table: ExportTable, line: number, reason: ProblemReason, detail: string): void {
    const key = `${table}:${reason}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
    if (this.problems.length < MAX_PROBLEMS) this.problems.push({ table, line, reason, detail });
  }

  count(table: ExportTable, reason: ProblemReason): number {
    return this.#counts.get(`${table}:${reason}`) ?? 0;
  }
}
