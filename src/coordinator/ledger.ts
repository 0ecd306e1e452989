import type { FailureReason, ItemReport } from "../copy/messages";
import { TRANSIENT_REASONS } from "../copy/messages";
import type { Failure, FailureCursor, FailurePage, ItemState, JobSettings } from "./model";
import { ITEM_STATES } from "./model";
import { CONFLICT_FAILURES_SQL } from "./conflicts";
import { pageOf, reportOutcome, type ReportConflict, type ReportItem, type ReportPage, type ReportRowError, type ReportSummary, type RowErrorCursor } from "./report";

export interface NewItem {
  fileId: string;
  sourcePath: string | null;
  r2Key: string;
  expectedSize: number | null;
  payload: unknown;
  /** Set when the item cannot be copied at all (decided while planning). */
  failure?: { reason: FailureReason; detail: string };
}

export interface LeasedItem {
  fileId: string;
  attempt: number;
  sourcePath: string | null;
  r2Key: string;
  expectedSize: number | null;
  payload: unknown;
}

/**
 * Failures that come from the export row itself: a corrected export, not a retry, is what fixes them
 * (a conflict: its resolution, then the next delta, which imports the user first).
 */
const EXPORT_REASONS: readonly FailureReason[] = ["unsafe_path", "unknown_user", "message_too_large", "conflict"];

/** A job's bad export rows (job ?1), with the columns of Ledger.failures. */
const ROW_FAILURES_SQL = `
  SELECT 'row' AS kind, NULL AS file_id, export_table AS tbl, line, NULL AS source, 'invalid_row' AS reason, error AS detail, 0 AS attempts, NULL AS conflict_id
    FROM row_errors WHERE job_id = ?1`;

/** Every failure of job ?1, with the columns of Ledger.failures: bad rows, failed items, conflicts. */
const JOB_FAILURES_SQL = `${ROW_FAILURES_SQL}
  UNION ALL
  SELECT 'item', file_id, NULL, NULL, json_extract(payload, '$.legacyPath'), error, detail, attempts, NULL
    FROM items WHERE job_id = ?1 AND state = 'failed'
  UNION ALL ${CONFLICT_FAILURES_SQL}`;

/**
 * JSON characters of planned rows per INSERT: at most 3 bytes of UTF-8 each, so a statement's one
 * bound value stays under the 2 MB a Durable Object's SQLite takes (one larger row goes alone).
 */
const INSERT_CHUNK_CHARS = 600_000;

/**
 * The per-item ledger of one coordinator: every item's state, attempts, lease and result. Every
 * transition is a single guarded UPDATE, so duplicate reports, redeliveries and repeated alarms
 * change nothing they should not.
 */
export class Ledger {
  constructor(private readonly sql: SqlStorage) {}

  /**
   * Adds items; returns the positions (in `items`) of those whose file id the job already had (or
   * that came earlier in `items`). The rows go in as JSON arrays, one statement per INSERT_CHUNK_CHARS
   * of them (a statement per row costs more than the row; a bound value may not exceed 2 MB).
   */
  insert(jobId: string, items: readonly NewItem[]): number[] {
    const inserted = new Set<string>();
    let chunk: string[] = [];
    let chars = 0;
    const flush = () => {
      if (chunk.length === 0) return;
      for (const { file_id } of this.sql.exec<{ file_id: string }>(
        `INSERT INTO items (job_id, file_id, source_path, r2_key, expected_size, payload, state, error, detail)
         SELECT ?1, value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7
           FROM json_each(?2) WHERE true ORDER BY key
         ON CONFLICT (job_id, file_id) DO NOTHING
         RETURNING file_id`,
        jobId,
        `[${chunk.join(",")}]`,
      )) {
        inserted.add(file_id);
      }
      chunk = [];
      chars = 0;
    };
    for (const item of items) {
      const row = JSON.stringify([
        item.fileId,
        item.sourcePath,
        item.r2Key,
        item.expectedSize,
        JSON.stringify(item.payload),
        item.failure ? "failed" : "pending",
        item.failure?.reason ?? null,
        item.failure?.detail ?? null,
      ]);
      if (chars + row.length > INSERT_CHUNK_CHARS) flush();
      chunk.push(row);
      chars += row.length + 1;
    }
    flush();
    const duplicates: number[] = [];
    for (const [index, item] of items.entries()) {
      // The first of a file id in `items` is the one inserted.
      if (!inserted.delete(item.fileId)) duplicates.push(index);
    }
    return duplicates;
  }

  counts(jobId: string): Record<ItemState, number> & { total: number; bytesDone: number; bytesKnown: number } {
    const out = { pending: 0, leased: 0, done: 0, failed: 0, total: 0, bytesDone: 0, bytesKnown: 0 };
    // item_totals is kept by triggers on items (see schema.ts): no scan of the items.
    const rows = this.sql.exec<{ state: ItemState; n: number; done_bytes: number; known_bytes: number }>(
      `SELECT state, n, bytes AS done_bytes, known_bytes FROM item_totals WHERE job_id = ?`,
      jobId,
    );
    for (const row of rows) {
      if (!ITEM_STATES.includes(row.state)) continue;
      out[row.state] = row.n;
      out.total += row.n;
      out.bytesKnown += row.known_bytes;
      if (row.state === "done") out.bytesDone += row.done_bytes;
    }
    return out;
  }

  /** Whether any item is still pending or leased (from the totals: this runs on every report). */
  hasOpen(jobId: string): boolean {
    return (
      this.sql.exec<{ open: number }>(`SELECT coalesce(sum(n), 0) AS open FROM item_totals WHERE job_id = ? AND state IN ('pending', 'leased')`, jobId).one().open > 0
    );
  }

  leasedCount(jobId: string): number {
    return this.sql.exec<{ n: number }>(`SELECT coalesce(sum(n), 0) AS n FROM item_totals WHERE job_id = ? AND state = 'leased'`, jobId).one().n;
  }

  /**
   * Leases up to `limit` ready items, counting the attempt now. The order is the items_ready index's
   * (earliest not_before, then insertion), so no sort of the pending items is needed however many.
   */
  lease(jobId: string, limit: number, now: number, leaseMs: number): LeasedItem[] {
    if (limit <= 0) return [];
    const rows = this.sql
      .exec<{ file_id: string; attempts: number; source_path: string | null; r2_key: string; expected_size: number | null; payload: string }>(
        `UPDATE items SET state = 'leased', attempts = attempts + 1, lease_until = ?
         WHERE rowid IN (SELECT rowid FROM items WHERE job_id = ? AND state = 'pending' AND not_before <= ?
                         ORDER BY not_before LIMIT ?)
         RETURNING file_id, attempts, source_path, r2_key, expected_size, payload`,
        now + leaseMs,
        jobId,
        now,
        limit,
      )
      .toArray();
    return rows.map((r) => ({
      fileId: r.file_id,
      attempt: r.attempts,
      sourcePath: r.source_path,
      r2Key: r.r2_key,
      expectedSize: r.expected_size,
      payload: JSON.parse(r.payload),
    }));
  }

  /** Gives back leases that could not be sent; the attempt does not count. */
  unlease(jobId: string, fileIds: readonly string[], notBefore: number): void {
    for (const fileId of fileIds) {
      this.sql.exec(
        `UPDATE items SET state = 'pending', attempts = attempts - 1, lease_until = NULL, not_before = ?
         WHERE job_id = ? AND file_id = ? AND state = 'leased'`,
        notBefore,
        jobId,
        fileId,
      );
    }
  }

  /** Leases whose consumer never reported go back to pending (or fail, if out of attempts). */
  expireLeases(jobId: string, now: number, settings: JobSettings): number {
    const expired = this.sql
      .exec<{ file_id: string; attempts: number }>(
        `SELECT file_id, attempts FROM items WHERE job_id = ? AND state = 'leased' AND lease_until <= ? LIMIT 1000`,
        jobId,
        now,
      )
      .toArray();
    for (const item of expired) {
      this.#retryOrFail(jobId, item.file_id, item.attempts, "timeout", "lease expired before the consumer reported", now, settings);
    }
    return expired.length;
  }

  /**
   * Applies consumer reports of one job; returns how many changed the ledger. A success is accepted
   * from any attempt, even one whose lease was re-issued: the copy is real. Successes go in as one
   * statement (one JSON array), so they are applied before the failures.
   */
  applyAll(jobId: string, reports: readonly ItemReport[], now: number, settings: JobSettings): number {
    const done = reports.filter((r) => r.outcome === "done").map((r) => [r.fileId, r.bytes, r.sha256, r.identical ? 1 : 0]);
    let applied =
      done.length === 0
        ? 0
        : this.sql.exec(
            // Without statistics SQLite would scan the job's items for each report: the reports are
            // matched to items first (CROSS JOIN keeps that order), then updated by rowid.
            `WITH r AS MATERIALIZED (
               SELECT i.rowid AS id, j.value ->> 1 AS bytes, j.value ->> 2 AS sha256, j.value ->> 3 AS identical
                 FROM json_each(?2) AS j CROSS JOIN items AS i ON i.job_id = ?1 AND i.file_id = j.value ->> 0
                WHERE i.state IN ('pending', 'leased'))
             UPDATE items SET state = 'done', bytes = r.bytes, sha256 = r.sha256, identical = r.identical, error = NULL, detail = NULL, lease_until = NULL
               FROM r WHERE items.rowid = r.id
             RETURNING items.file_id`,
            jobId,
            JSON.stringify(done),
          ).toArray().length;
    for (const report of reports) if (report.outcome === "failed" && this.apply(report, now, settings)) applied++;
    return applied;
  }

  /** Applies one consumer report. Returns whether it changed the ledger. */
  apply(report: ItemReport, now: number, settings: JobSettings): boolean {
    if (report.outcome === "done") {
      return this.applyAll(report.jobId, [report], now, settings) > 0;
    }
    // A failure counts only for the attempt that holds the lease; stale ones are ignored.
    const current = this.sql
      .exec<{ attempts: number }>(`SELECT attempts FROM items WHERE job_id = ? AND file_id = ? AND state = 'leased'`, report.jobId, report.fileId)
      .toArray()[0];
    if (!current || current.attempts !== report.attempt) return false;
    return this.#retryOrFail(report.jobId, report.fileId, current.attempts, report.reason, report.detail, now, settings);
  }

  /** Settles a leased item's failed attempt: back to pending with backoff while transient and attempts remain, else failed. */
  #retryOrFail(jobId: string, fileId: string, attempts: number, reason: FailureReason, detail: string, now: number, settings: JobSettings): boolean {
    const retry = TRANSIENT_REASONS.has(reason) && attempts < settings.maxAttempts;
    return (
      this.sql.exec(
        `UPDATE items SET state = ?, not_before = ?, lease_until = NULL, error = ?, detail = ?
         WHERE job_id = ? AND file_id = ? AND state = 'leased'`,
        retry ? "pending" : "failed",
        retry ? now + backoffMs(attempts, settings) : 0,
        reason,
        detail.slice(0, 500),
        jobId,
        fileId,
      ).rowsWritten > 0
    );
  }

  markFailed(jobId: string, fileId: string, reason: FailureReason, detail: string): void {
    this.sql.exec(
      `UPDATE items SET state = 'failed', error = ?, detail = ? WHERE job_id = ? AND file_id = ? AND state = 'done'`,
      reason,
      detail.slice(0, 500),
      jobId,
      fileId,
    );
  }

  /** Failed items that a retry can fix go back to pending with fresh attempts; returns how many. */
  requeueFailed(jobId: string): number {
    const placeholders = EXPORT_REASONS.map(() => "?").join(", ");
    // Counted with RETURNING: rowsWritten also counts index rows.
    return this.sql.exec(
      `UPDATE items SET state = 'pending', attempts = 0, not_before = 0, error = NULL, detail = NULL
       WHERE job_id = ? AND state = 'failed' AND error NOT IN (${placeholders}) RETURNING file_id`,
      jobId,
      ...EXPORT_REASONS,
    ).toArray().length;
  }

  /** The earliest lease expiry and the earliest moment a pending item becomes ready. */
  deadlines(jobId: string): { leaseUntil: number | null; readyAt: number | null } {
    const row = this.sql
      .exec<{ lease_until: number | null; ready_at: number | null }>(
        `SELECT (SELECT min(lease_until) FROM items WHERE job_id = ?1 AND state = 'leased') AS lease_until,
                (SELECT min(not_before) FROM items WHERE job_id = ?1 AND state = 'pending') AS ready_at`,
        jobId,
      )
      .one();
    return { leaseUntil: row.lease_until, readyAt: row.ready_at };
  }

  /** Done items after `afterFileId`, in file id order (for reconciliation against D1). */
  doneAfter(jobId: string, afterFileId: string, limit: number): { fileId: string; bytes: number; sha256: string }[] {
    return this.sql
      .exec<{ file_id: string; bytes: number; sha256: string }>(
        `SELECT file_id, bytes, sha256 FROM items WHERE job_id = ? AND state = 'done' AND file_id > ? ORDER BY file_id LIMIT ?`,
        jobId,
        afterFileId,
        limit,
      )
      .toArray()
      .map((r) => ({ fileId: r.file_id, bytes: r.bytes, sha256: r.sha256 }));
  }

  /** One item of a job: its R2 key, state and planning payload (null if the job has no such item). */
  item(jobId: string, fileId: string): { r2Key: string; state: ItemState; payload: unknown } | null {
    const row = this.sql
      .exec<{ r2_key: string; state: ItemState; payload: string }>(`SELECT r2_key, state, payload FROM items WHERE job_id = ? AND file_id = ?`, jobId, fileId)
      .toArray()[0];
    return row ? { r2Key: row.r2_key, state: row.state, payload: JSON.parse(row.payload) } : null;
  }

  recordRowError(jobId: string, table: string, line: number, error: string): void {
    this.sql.exec(
      `INSERT INTO row_errors (job_id, export_table, line, error) VALUES (?, ?, ?, ?)
       ON CONFLICT (job_id, export_table, line) DO UPDATE SET error = excluded.error`,
      jobId,
      table,
      line,
      error.slice(0, 500),
    );
  }

  rowErrorCount(jobId: string): number {
    return this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM row_errors WHERE job_id = ?`, jobId).one().n;
  }

  /**
   * A page of a job's failures (bad export rows by table and line, then failed items by file id, then
   * the conflicts it met by id), of one `reason` if given: after `after` (keyset: each part read through
   * its own index, so a page costs the same however deep), or at `offset`. The first page also says how
   * many there are, and per reason.
   */
  failures(jobId: string, limit: number, offset: number, reason: string | null = null, after: FailureCursor | null = null): FailurePage {
    const failures = after !== null || offset === 0 ? this.#failuresAfter(jobId, after, limit, reason) : this.#failuresAt(jobId, offset, limit, reason);
    const last = failures.at(-1);
    const next = failures.length === limit && last ? cursorOf(last) : null;
    // Counting reads every failure of the job: done for the first page only, which is what a pager reads first.
    if (offset > 0 || after !== null) return { failures, next, total: null, byReason: null };
    const byReason = Object.fromEntries(this.sql.exec<{ reason: string; n: number }>(`SELECT reason, count(*) AS n FROM (${JOB_FAILURES_SQL}) GROUP BY reason ORDER BY reason`, jobId).toArray().map((r) => [r.reason, r.n]));
    const total = reason === null ? Object.values(byReason).reduce((a, b) => a + b, 0) : (byReason[reason] ?? 0);
    return { failures, next, total, byReason };
  }

  #failuresAt(jobId: string, offset: number, limit: number, reason: string | null): Failure[] {
    return this.sql
      .exec<FailureRow>(`SELECT * FROM (${JOB_FAILURES_SQL}) WHERE ?4 IS NULL OR reason = ?4 ORDER BY ${FAILURE_ORDER} LIMIT ?2 OFFSET ?3`, jobId, limit, offset, reason)
      .toArray()
      .map(failureOf);
  }

  #failuresAfter(jobId: string, after: FailureCursor | null, limit: number, reason: string | null): Failure[] {
    const out: Failure[] = [];
    const part = after?.part ?? "row";
    if (part === "row" && (reason === null || reason === "invalid_row")) {
      const [table, line] = after?.part === "row" ? [after.table, after.line] : ["", -1];
      out.push(
        ...this.sql
          .exec<FailureRow>(`SELECT * FROM (${ROW_FAILURES_SQL}) WHERE (tbl, line) > (?2, ?3) ORDER BY tbl, line LIMIT ?4`, jobId, table, line, limit)
          .toArray()
          .map(failureOf),
      );
    }
    if (out.length < limit && part !== "conflict") {
      const fileId = after?.part === "item" ? after.fileId : "";
      // Read through the partial indexes of failed items (schema version 12): no scan of the job's items.
      out.push(
        ...this.sql
          .exec<FailureRow>(
            `SELECT 'item' AS kind, file_id, NULL AS tbl, NULL AS line, json_extract(payload, '$.legacyPath') AS source, error AS reason, detail, attempts, NULL AS conflict_id
               FROM items WHERE job_id = ?1 AND state = 'failed' AND file_id > ?2 ${reason === null ? "" : "AND error = ?4"} ORDER BY file_id LIMIT ?3`,
            jobId,
            fileId,
            limit - out.length,
            ...(reason === null ? [] : [reason]),
          )
          .toArray()
          .map(failureOf),
      );
    }
    if (out.length < limit) {
      const id = after?.part === "conflict" ? after.id : 0;
      out.push(
        ...this.sql
          .exec<FailureRow>(`SELECT * FROM (${CONFLICT_FAILURES_SQL}) WHERE conflict_id > ?2 AND (?3 IS NULL OR reason = ?3) ORDER BY conflict_id LIMIT ?4`, jobId, id, reason, limit - out.length)
          .toArray()
          .map(failureOf),
      );
    }
    return out;
  }

  // ── job reports: keyset pages, so a page costs the same however far into the job it is ──────

  /**
   * The items after `after` (file id order), within a window of the next `limit` items: all of them,
   * or with `errorsOnly` only the failed ones. So a page of failures may be short or even empty, but no
   * call examines more than `limit` items, however few have failed; `next` is the window's end.
   */
  reportItems(jobId: string, verifies: boolean, after: string, limit: number, errorsOnly: boolean): ReportPage<ReportItem, string> {
    const window = this.sql
      .exec<{ last: string | null; n: number }>(
        `SELECT max(file_id) AS last, count(*) AS n FROM (SELECT file_id FROM items WHERE job_id = ? AND file_id > ? ORDER BY file_id LIMIT ?)`,
        jobId,
        after,
        limit,
      )
      .one();
    if (window.last === null) return { entries: [], next: null };
    const entries = this.sql
      .exec<{ file_id: string; state: ItemState; identical: number; source: string | null; r2_key: string; bytes: number | null; sha256: string | null; attempts: number; error: string | null; detail: string | null }>(
        `SELECT file_id, state, identical, json_extract(payload, '$.legacyPath') AS source, r2_key, bytes, sha256, attempts, error, detail
           FROM items WHERE job_id = ?1 AND file_id > ?2 AND file_id <= ?3 AND (?4 = 0 OR state = 'failed') ORDER BY file_id`,
        jobId,
        after,
        window.last,
        errorsOnly ? 1 : 0,
      )
      .toArray()
      .map((r) => ({
        fileId: r.file_id,
        outcome: reportOutcome(r.state, r.identical === 1, verifies),
        sourcePath: r.source,
        r2Key: r.r2_key,
        bytes: r.bytes,
        sha256: r.sha256,
        attempts: r.attempts,
        reason: r.error,
        detail: r.detail,
      }));
    return { entries, next: window.n < limit ? null : window.last };
  }

  /** Items per report outcome, and the bad rows (conflicts are the ConflictStore's). */
  reportSummary(jobId: string, verifies: boolean): Omit<ReportSummary, "conflicts"> {
    const counts = this.counts(jobId);
    // The totals have no identical column: this one count reads the job's done items (found by index).
    const identical = verifies
      ? 0
      : this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM items WHERE job_id = ? AND state = 'done' AND identical = 1`, jobId).one().n;
    return {
      transferred: verifies ? 0 : counts.done - identical,
      skippedIdentical: identical,
      verified: verifies ? counts.done : 0,
      failed: counts.failed,
      pending: counts.pending,
      leased: counts.leased,
      rowErrors: this.rowErrorCount(jobId),
    };
  }

  /** Bad export rows after `after`, by table and line. */
  reportRowErrors(jobId: string, after: RowErrorCursor, limit: number): ReportPage<ReportRowError, RowErrorCursor> {
    const entries = this.sql
      .exec<{ tbl: string; line: number; reason: string; detail: string }>(
        `SELECT tbl, line, reason, detail FROM (${ROW_FAILURES_SQL}) WHERE (tbl, line) > (?2, ?3) ORDER BY tbl, line LIMIT ?4`,
        jobId,
        after.table,
        after.line,
        limit,
      )
      .toArray()
      .map((r) => ({ table: r.tbl, line: r.line, reason: r.reason, detail: r.detail }));
    return pageOf(entries, limit, (last) => ({ table: last.table, line: last.line }));
  }

  /** The conflicts the job met, by id, after conflict `after`. */
  reportConflicts(jobId: string, after: number, limit: number): ReportPage<ReportConflict, number> {
    const entries = this.sql
      .exec<{ conflict_id: number; tbl: string; file_id: string | null; line: number | null; reason: string; detail: string }>(
        `SELECT conflict_id, tbl, file_id, line, reason, detail FROM (${CONFLICT_FAILURES_SQL}) WHERE conflict_id > ?2 ORDER BY conflict_id LIMIT ?3`,
        jobId,
        after,
        limit,
      )
      .toArray()
      .map((r) => ({ conflictId: r.conflict_id, table: r.tbl, fileId: r.file_id, line: r.line, reason: r.reason, detail: r.detail }));
    return pageOf(entries, limit, (last) => last.conflictId);
  }
}

/** The order of a job's failures, the same for offset and keyset pages: bad rows, failed items, conflicts. */
const FAILURE_ORDER = "kind DESC, CASE WHEN kind = 'conflict' THEN conflict_id END, tbl, line, file_id";

type FailureRow = { kind: Failure["kind"]; file_id: string | null; tbl: string | null; line: number | null; source: string | null; reason: string; detail: string | null; attempts: number; conflict_id: number | null };

function failureOf(r: FailureRow): Failure {
  return { kind: r.kind, fileId: r.file_id, table: r.tbl, line: r.line, source: r.source, reason: r.reason, detail: r.detail, attempts: r.attempts, conflictId: r.conflict_id };
}

function cursorOf(f: Failure): FailureCursor {
  if (f.kind === "row") return { part: "row", table: f.table ?? "", line: f.line ?? 0 };
  if (f.kind === "item") return { part: "item", fileId: f.fileId ?? "" };
  return { part: "conflict", id: f.conflictId ?? 0 };
}

/** Exponential backoff with full jitter: uniform in [base·2^(n-1) / 2, base·2^(n-1)], capped. */
export function backoffMs(attempts: number, settings: Pick<JobSettings, "retryBaseMs" | "retryMaxMs">): number {
  const ceiling = Math.min(settings.retryMaxMs, settings.retryBaseMs * 2 ** Math.max(0, attempts - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}
