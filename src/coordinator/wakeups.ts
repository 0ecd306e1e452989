/** Why the coordinator wakes up. Each reason is scheduled, run and counted on its own. */
const WAKE_REASONS = ["job", "cutover", "audit", "roundtrip", "run", "alerts"] as const;
export type WakeReason = (typeof WAKE_REASONS)[number];

/** A reason whose run was cut short (evicted mid-step) runs again after this. */
const INTERRUPTED_RETRY_MS = 30_000;

/** When a reason is due: its wake-up or its fallback, whichever is earlier (NULL: neither is set). */
const DUE_AT = "min(coalesce(at, fallback_at), coalesce(fallback_at, at))";

/** Rows of reasons this code does not know (left by a newer deploy) are kept, but never run. */
const KNOWN = `reason IN (${WAKE_REASONS.map(() => "?").join(", ")})`;

export interface WakeHandler {
  /** Does the reason's work; returns when it wants to run again (null: not until asked). */
  run(now: number): Promise<number | null>;
  /** run() threw, the `failures`-th time in a row: when to try again (null: give up; the count restarts). */
  failed(error: unknown, failures: number, now: number): number | null;
}

/**
 * The coordinator's one scheduler. A Durable Object has a single alarm; this keeps a wake-up time
 * per reason in storage (table `wakeups`) and sets the alarm to the earliest. When it fires, each
 * reason that is due runs on its own: one that throws is counted (in storage, so the count survives
 * eviction) and retried as its handler says, and never stops another.
 */
export class Wakeups {
  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly handlers: Record<WakeReason, WakeHandler>,
  ) {}

  /** Asks for `reason` to run at `at` at the latest (an earlier wake-up already asked for stands). */
  async request(reason: WakeReason, at: number): Promise<void> {
    this.#want(reason, at);
    await this.#arm();
  }

  /** Runs `reason` at once, counted as if its wake-up had come. */
  async runNow(reason: WakeReason): Promise<void> {
    await this.#run(reason, true);
    await this.#arm();
  }

  /** The alarm: runs each reason that is due, earliest first, then sets the alarm for the next. */
  async alarm(): Promise<void> {
    for (const reason of this.#due(Date.now())) await this.#run(reason);
    await this.#arm();
  }

  get #sql(): SqlStorage {
    return this.storage.sql;
  }

  /**
   * Runs a reason's handler. Its wake-up is cleared first, so that one asked for while it runs (a
   * report, an operator call) stands, and a fallback is stored beside it, so that a run cut short
   * (an eviction or a redeploy mid-step) runs again. An alarm cut short is retried by the runtime;
   * a run outside the alarm (`armFallback`) sets the alarm for its fallback first.
   */
  async #run(reason: WakeReason, armFallback = false): Promise<void> {
    const handler = this.handlers[reason];
    this.#sql.exec(
      `INSERT INTO wakeups (reason, at, fallback_at) VALUES (?1, NULL, ?2) ON CONFLICT (reason) DO UPDATE SET at = NULL, fallback_at = ?2`,
      reason,
      Date.now() + INTERRUPTED_RETRY_MS,
    );
    if (armFallback) await this.#arm();
    let next: number | null;
    try {
      next = await handler.run(Date.now());
      this.#sql.exec(`UPDATE wakeups SET failures = 0 WHERE reason = ?`, reason);
    } catch (e) {
      const failures = this.#sql.exec<{ failures: number }>(`UPDATE wakeups SET failures = failures + 1 WHERE reason = ? RETURNING failures`, reason).one().failures;
      next = handler.failed(e, failures, Date.now());
      if (next === null) this.#sql.exec(`UPDATE wakeups SET failures = 0 WHERE reason = ?`, reason);
    }
    this.#sql.exec(`UPDATE wakeups SET fallback_at = NULL WHERE reason = ?`, reason);
    if (next !== null) this.#want(reason, next);
  }

  #want(reason: WakeReason, at: number): void {
    this.#sql.exec(
      `INSERT INTO wakeups (reason, at) VALUES (?1, ?2) ON CONFLICT (reason) DO UPDATE SET at = min(coalesce(at, ?2), ?2)`,
      reason,
      at,
    );
  }

  /**
   * The reasons whose time has come, earliest first. An alarm that fires before any (a test running
   * it early) counts as the earliest one's.
   */
  #due(now: number): WakeReason[] {
    const rows = this.#sql.exec<{ reason: WakeReason; at: number }>(`SELECT reason, ${DUE_AT} AS at FROM wakeups WHERE ${DUE_AT} IS NOT NULL AND ${KNOWN} ORDER BY at, reason`, ...WAKE_REASONS).toArray();
    const until = Math.max(now, rows[0]?.at ?? now);
    return rows.filter((r) => r.at <= until).map((r) => r.reason);
  }

  async #arm(): Promise<void> {
    const next = this.#sql.exec<{ at: number | null }>(`SELECT min(${DUE_AT}) AS at FROM wakeups WHERE ${KNOWN}`, ...WAKE_REASONS).one().at;
    const current = await this.storage.getAlarm();
    if (next === null) {
      if (current !== null) await this.storage.deleteAlarm();
      return;
    }
    // Only ever brought forward: a later alarm would be rewritten on every metrics batch. An alarm
    // that fires before any reason is due runs the earliest one (see #due), which is harmless.
    const at = Math.max(next, Date.now());
    if (current === null || at < current) await this.storage.setAlarm(at);
  }
}
