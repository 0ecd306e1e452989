import { auditInsert, type AuditEntry } from "../audit";
import { logEvent } from "../lib/log-event";

/** Entries pushed to D1 per batch. */
const PUSH_BATCH = 50;

/**
 * Audit entries of the coordinator's changes. Each is written to the object's SQLite in the same
 * transaction as the change it records, then pushed to D1 `audit_logs` and removed. So a change that
 * committed is never reported as failed because D1 could not take its entry, and the entry is not
 * lost: it waits here until a later push (the scheduler's "audit" wake-up) gets it through.
 * Delivery is at least once: an eviction between D1's insert and the removal here sends it again.
 */
export class AuditOutbox {
  #pushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly sql: SqlStorage,
    private readonly db: D1Database,
  ) {}

  /** Records an entry (and logs it as a structured line); call it in the transaction of the change. */
  add(entry: AuditEntry, now: number): void {
    this.sql.exec(
      `INSERT INTO audit_outbox (actor, action, target, details, created_at) VALUES (?, ?, ?, ?, ?)`,
      entry.actor,
      entry.action,
      entry.target ?? null,
      JSON.stringify(entry.details ?? {}),
      new Date(now).toISOString(),
    );
    logEvent(entry.action, { actor: entry.actor, target: entry.target ?? null, details: entry.details ?? {} });
  }

  pending(): number {
    return this.sql.exec<{ n: number }>(`SELECT count(*) AS n FROM audit_outbox`).one().n;
  }

  /** Pushes every pending entry to D1, oldest first; throws (keeping what is left) if D1 fails. */
  deliver(): Promise<void> {
    // One push at a time: overlapping pushes would send the same entries twice.
    const push = this.#pushing.then(() => this.#push());
    this.#pushing = push.catch(() => {});
    return push;
  }

  async #push(): Promise<void> {
    for (;;) {
      const rows = this.sql
        .exec<{ id: number; actor: string; action: string; target: string | null; details: string; created_at: string }>(
          `SELECT id, actor, action, target, details, created_at FROM audit_outbox ORDER BY id LIMIT ?`,
          PUSH_BATCH,
        )
        .toArray();
      if (rows.length === 0) return;
      await this.db.batch(rows.map((r) => auditInsert(this.db, { actor: r.actor, action: r.action, target: r.target, details: JSON.parse(r.details) }, r.created_at)));
      this.sql.exec(`DELETE FROM audit_outbox WHERE id <= ?`, rows.at(-1)!.id);
    }
  }
}
