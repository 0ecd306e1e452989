import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { runMigrations, schemaVersion, type Migration } from "../lib/do-migrations";

/**
 * The attempts of one fixed window. At most one row: the object itself is the key (a hash of a
 * username and address, or of an address; see attempt-limits.ts).
 */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "the attempt window",
    sql: `
      CREATE TABLE IF NOT EXISTS attempt_window (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        started_at INTEGER NOT NULL, -- ms since the epoch
        attempts   INTEGER NOT NULL
      )`,
  },
];

export interface AttemptResult {
  allowed: boolean;
  /** Seconds until the window closes (0 when allowed). */
  retryAfter: number;
}

/**
 * An atomic attempt counter (RPC only), one object per hashed key (see attempt-limits.ts: logins,
 * registrations, anonymous uploads). Attempts are taken before the costly work, so that parallel
 * attempts cannot exceed the limit; the storage is deleted once the window closes.
 */
export class AttemptLimiter extends DurableObject<Env> {
  /** Takes an attempt unless `limit` were taken already in the current window; the first opens one. */
  async attempt(limit: number, windowSeconds: number): Promise<AttemptResult> {
    const sql = this.#sql();
    const now = Date.now();
    // Read and write with no await in between: nothing else runs in this object meanwhile.
    const current = sql.exec<{ started_at: number; attempts: number }>(`SELECT started_at, attempts FROM attempt_window`).toArray()[0];
    const closesAt = current ? current.started_at + windowSeconds * 1000 : 0;
    if (!current || now >= closesAt) {
      sql.exec(`INSERT OR REPLACE INTO attempt_window (id, started_at, attempts) VALUES (1, ?, 1)`, now);
      await this.ctx.storage.setAlarm(now + windowSeconds * 1000);
      return { allowed: true, retryAfter: 0 };
    }
    if (current.attempts >= limit) return { allowed: false, retryAfter: Math.ceil((closesAt - now) / 1000) };
    sql.exec(`UPDATE attempt_window SET attempts = attempts + 1`);
    return { allowed: true, retryAfter: 0 };
  }

  /** A successful login: the count starts again. */
  async succeeded(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  /** Gives back one attempt (a successful login that should not use up an address's allowance). */
  async refund(): Promise<void> {
    // Once the window has closed (and its alarm deleted everything) there is nothing to give back.
    if (!this.#hasWindow()) return;
    this.ctx.storage.sql.exec(`UPDATE attempt_window SET attempts = max(attempts - 1, 0)`);
  }

  /** The window has closed: keep nothing. */
  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  #hasWindow(): boolean {
    return schemaVersion(this.ctx.storage) > 0;
  }

  /**
   * The storage, its schema brought up to date first. On demand, not in the constructor: deleteAll()
   * (on success, and when the window closes) drops the tables and their version with them, and an
   * object that holds nothing should keep nothing.
   */
  #sql(): SqlStorage {
    runMigrations(this.ctx.storage, MIGRATIONS);
    return this.ctx.storage.sql;
  }
}
