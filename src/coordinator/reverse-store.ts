import type { OutboxEntry, OutboxTable } from "../sync/outbox";
import type { BundleTable } from "../sync/reverse-bundle-format";
import { BUNDLE_TABLE_OF, type Shipped } from "../sync/reverse-rows";

/** A row a reverse job ships: its latest outbox entry in the job's range. */
export interface StagedRow {
  tbl: OutboxTable;
  row_id: string;
  seq: number;
  op: "upsert" | "delete";
  snapshot: string | null;
  [key: string]: SqlStorageValue;
}

export interface ShippedRow {
  tbl: OutboxTable;
  rowId: string;
  seq: number;
  shipped: Shipped;
}

export interface AppliedRecord {
  jobId: string;
  toSeq: number;
  appliedAt: number;
  actor: string;
  markedAfter: number;
  marked: number;
  markedAt: number | null;
}

interface AppliedRow {
  job_id: string;
  to_seq: number;
  applied_at: number;
  actor: string;
  marked_after: number;
  marked: number;
  marked_at: number | null;
  [key: string]: SqlStorageValue;
}

/**
 * The coordinator's reverse-sync records (schema.ts, migration 6): the rows each reverse job ships,
 * deduplicated to the latest outbox entry per row while planning reads the outbox, then what each
 * bundle line carried; and the bundles the operator reported applied to legacy, with the cursor of
 * the round trip that marks their rows in D1 as known to legacy.
 */
export class ReverseStore {
  constructor(private readonly sql: SqlStorage) {}

  /** Keeps, per row, the latest of these outbox entries and any staged before (idempotent). */
  stage(jobId: string, entries: readonly OutboxEntry[]): void {
    for (const e of entries) {
      this.sql.exec(
        `INSERT INTO reverse_rows (job_id, tbl, row_id, seq, op, part_table, snapshot) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (job_id, tbl, row_id) DO UPDATE SET seq = excluded.seq, op = excluded.op, part_table = excluded.part_table, snapshot = excluded.snapshot, shipped = NULL
         WHERE excluded.seq > reverse_rows.seq`,
        jobId,
        e.tbl,
        e.row_id,
        e.seq,
        e.op,
        partTable(e.tbl, e.op),
        e.snapshot,
      );
    }
  }

  /** The staged rows of one bundle table after `afterSeq`, in outbox order, at most `limit`. */
  next(jobId: string, table: BundleTable, afterSeq: number, limit: number): StagedRow[] {
    return this.sql
      .exec<StagedRow>(
        `SELECT tbl, row_id, seq, op, snapshot FROM reverse_rows WHERE job_id = ? AND part_table = ? AND seq > ? ORDER BY seq LIMIT ?`,
        jobId,
        table,
        afterSeq,
        limit,
      )
      .toArray();
  }

  /** Records what a row's bundle line carried (the round trip stores it as the row's legacy_base). */
  ship(jobId: string, tbl: OutboxTable, rowId: string, shipped: Shipped): void {
    this.sql.exec(`UPDATE reverse_rows SET shipped = ? WHERE job_id = ? AND tbl = ? AND row_id = ?`, JSON.stringify(shipped), jobId, tbl, rowId);
  }

  /** Shipped rows of a job after `afterSeq`, in outbox order, at most `limit`. */
  shippedAfter(jobId: string, afterSeq: number, limit: number): ShippedRow[] {
    return this.sql
      .exec<{ tbl: OutboxTable; row_id: string; seq: number; shipped: string }>(
        `SELECT tbl, row_id, seq, shipped FROM reverse_rows WHERE job_id = ? AND seq > ? AND shipped IS NOT NULL ORDER BY seq LIMIT ?`,
        jobId,
        afterSeq,
        limit,
      )
      .toArray()
      .map((r) => ({ tbl: r.tbl, rowId: r.row_id, seq: r.seq, shipped: JSON.parse(r.shipped) as Shipped }));
  }

  /** The highest toSeq reported applied to legacy (0 if none): where the next reverse job starts by default. */
  appliedSeq(): number {
    return this.sql.exec<{ seq: number }>(`SELECT coalesce(max(to_seq), 0) AS seq FROM reverse_applied`).one().seq;
  }

  applied(jobId: string): AppliedRecord | null {
    const row = this.sql.exec<AppliedRow>(`SELECT * FROM reverse_applied WHERE job_id = ?`, jobId).toArray()[0];
    return row ? fromRow(row) : null;
  }

  /** Records a bundle applied to legacy; its round trip starts from its first row. */
  recordApplied(jobId: string, toSeq: number, actor: string, now: number): void {
    this.sql.exec(`INSERT INTO reverse_applied (job_id, to_seq, applied_at, actor) VALUES (?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING`, jobId, toSeq, now, actor);
  }

  /** The earliest applied bundle whose round trip has not finished. */
  pendingRoundTrip(): AppliedRecord | null {
    const row = this.sql.exec<AppliedRow>(`SELECT * FROM reverse_applied WHERE marked_at IS NULL ORDER BY applied_at, job_id LIMIT 1`).toArray()[0];
    return row ? fromRow(row) : null;
  }

  advanceRoundTrip(jobId: string, markedAfter: number, marked: number, done: boolean, now: number): void {
    this.sql.exec(
      `UPDATE reverse_applied SET marked_after = ?, marked = marked + ?, marked_at = ? WHERE job_id = ?`,
      markedAfter,
      marked,
      done ? now : null,
      jobId,
    );
  }
}

/** The bundle table a row's latest entry goes to. */
function partTable(tbl: OutboxTable, op: "upsert" | "delete"): BundleTable {
  return op === "delete" ? "deletions" : BUNDLE_TABLE_OF[tbl];
}

function fromRow(row: AppliedRow): AppliedRecord {
  return {
    jobId: row.job_id,
    toSeq: row.to_seq,
    appliedAt: row.applied_at,
    actor: row.actor,
    markedAfter: row.marked_after,
    marked: row.marked,
    markedAt: row.marked_at,
  };
}
