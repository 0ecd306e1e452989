import type { AlertEvent, AlertKind, ChannelKind, ChannelRecord, Condition, Severity } from "./model";
import { severityAtLeast } from "./model";

/** Events kept (older ones and their deliveries are dropped): storage stays bounded. */
const KEEP_EVENTS = 1_000;
/** Deliveries handed to the queue per send at most (the Queues limit of a sendBatch is 100 messages). */
export const SEND_BATCH = 100;

/** `superseded`: a trigger not yet delivered when a later event of its key (its resolve) came: sending it late would reopen what is closed. */
export type DeliveryState = "queued" | "sent" | "delivered" | "dead" | "superseded";

export interface DeliveryView {
  channelId: string;
  state: DeliveryState;
  attempts: number;
  lastError: string | null;
}

/**
 * The coordinator's alerts (its SQLite; schema in coordinator/schema.ts, version 11): the conditions firing now,
 * the events their starts and ends made, the channels and each event's delivery to each channel.
 * A condition fires once however often it is seen (its key), and resolves once when it is gone.
 */
export class AlertStore {
  constructor(private readonly sql: SqlStorage) {}

  /**
   * Compares what holds now with what is firing: a new condition (or one back after resolving)
   * triggers, a firing one that no longer holds resolves, one the operator resolved stays quiet
   * until it clears. Returns the events made (already queued for their channels).
   */
  reconcile(holding: readonly Condition[], now: number): AlertEvent[] {
    const events: AlertEvent[] = [];
    const keys = new Set(holding.map((c) => c.key));
    for (const condition of holding) {
      const row = this.#alert(condition.key);
      if (row?.state === "firing" || row?.state === "silenced") continue;
      this.sql.exec(
        `INSERT INTO alerts (key, kind, severity, summary, details, state, since, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, 'firing', ?6, ?6)
         ON CONFLICT (key) DO UPDATE SET kind = ?2, severity = ?3, summary = ?4, details = ?5, state = 'firing', since = ?6, updated_at = ?6`,
        condition.key,
        condition.kind,
        condition.severity,
        condition.summary,
        JSON.stringify(condition.details),
        now,
      );
      events.push(this.#event(condition, "trigger", now));
    }
    for (const row of this.sql.exec<AlertRow>(`SELECT * FROM alerts WHERE state IN ('firing', 'silenced')`).toArray()) {
      if (keys.has(row.key)) continue;
      this.sql.exec(`UPDATE alerts SET state = 'resolved', updated_at = ? WHERE key = ?`, now, row.key);
      if (row.state === "firing") events.push(this.#event(conditionOf(row), "resolve", now));
    }
    return events;
  }

  /** The operator resolves a firing alert: its resolve goes out now, and it stays quiet until its condition clears. */
  silence(key: string, now: number): AlertEvent | null {
    const row = this.#alert(key);
    if (row?.state !== "firing") return null;
    this.sql.exec(`UPDATE alerts SET state = 'silenced', updated_at = ? WHERE key = ?`, now, key);
    return this.#event(conditionOf(row), "resolve", now);
  }

  /** A test message to one channel, whatever its minimum severity. */
  test(channelId: string, actor: string, now: number): AlertEvent {
    const condition: Condition = { key: `test:${crypto.randomUUID()}`, kind: "test", severity: "info", summary: `Test alert sent by ${actor}`, details: { actor } };
    return this.#event(condition, "trigger", now, channelId);
  }

  firing(): { key: string; kind: AlertKind; severity: Severity; summary: string; state: "firing" | "silenced"; since: string }[] {
    return this.sql
      .exec<AlertRow>(`SELECT * FROM alerts WHERE state IN ('firing', 'silenced') ORDER BY since DESC`)
      .toArray()
      .map((r) => ({ key: r.key, kind: r.kind, severity: r.severity, summary: r.summary, state: r.state as "firing" | "silenced", since: new Date(r.since).toISOString() }));
  }

  /** The newest events, each with its deliveries. */
  recent(limit: number): (AlertEvent & { deliveries: DeliveryView[] })[] {
    const events = this.sql.exec<EventRow>(`SELECT * FROM alert_events ORDER BY seq DESC LIMIT ?`, limit).toArray().map(eventOf);
    return events.map((event) => ({
      ...event,
      deliveries: this.sql
        .exec<{ channel_id: string; state: DeliveryState; attempts: number; last_error: string | null }>(`SELECT channel_id, state, attempts, last_error FROM alert_deliveries WHERE event_id = ? ORDER BY channel_id`, event.id)
        .toArray()
        .map((d) => ({ channelId: d.channel_id, state: d.state, attempts: d.attempts, lastError: d.last_error })),
    }));
  }

  // ── channels ───────────────────────────────────────────────────────────────────────────────

  addChannel(channel: ChannelRecord): void {
    this.sql.exec(
      `INSERT INTO alert_channels (id, kind, name, target, sealed, min_severity, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      channel.id,
      channel.kind,
      channel.name,
      channel.target,
      channel.sealed,
      channel.minSeverity,
      channel.createdAt,
    );
  }

  removeChannel(id: string): boolean {
    this.sql.exec(`DELETE FROM alert_deliveries WHERE channel_id = ? AND state IN ('queued', 'sent')`, id);
    return this.sql.exec(`DELETE FROM alert_channels WHERE id = ? RETURNING id`, id).toArray().length > 0;
  }

  channel(id: string): ChannelRecord | null {
    const row = this.sql.exec<ChannelRow>(`SELECT * FROM alert_channels WHERE id = ?`, id).toArray()[0];
    return row ? channelOf(row) : null;
  }

  channels(): ChannelRecord[] {
    return this.sql.exec<ChannelRow>(`SELECT * FROM alert_channels ORDER BY created_at, id`).toArray().map(channelOf);
  }

  // ── deliveries ─────────────────────────────────────────────────────────────────────────────

  /** Deliveries not yet handed to the queue, oldest first. */
  queued(limit = SEND_BATCH): { eventId: string; channelId: string }[] {
    return this.sql
      .exec<{ event_id: string; channel_id: string }>(`SELECT event_id, channel_id FROM alert_deliveries WHERE state = 'queued' ORDER BY rowid LIMIT ?`, limit)
      .toArray()
      .map((r) => ({ eventId: r.event_id, channelId: r.channel_id }));
  }

  markSent(deliveries: readonly { eventId: string; channelId: string }[], now: number): void {
    for (const d of deliveries) this.sql.exec(`UPDATE alert_deliveries SET state = 'sent', updated_at = ? WHERE event_id = ? AND channel_id = ? AND state = 'queued'`, now, d.eventId, d.channelId);
  }

  /** What a consumer needs to deliver one event to one channel; null when there is nothing to do (delivered, dead, or the channel is gone). */
  delivery(eventId: string, channelId: string, now: number): { event: AlertEvent; channel: ChannelRecord } | null {
    const state = this.sql.exec<{ state: DeliveryState }>(`SELECT state FROM alert_deliveries WHERE event_id = ? AND channel_id = ?`, eventId, channelId).toArray()[0]?.state;
    if (state !== "queued" && state !== "sent") return null;
    const event = this.sql.exec<EventRow>(`SELECT * FROM alert_events WHERE id = ?`, eventId).toArray()[0];
    const channel = this.channel(channelId);
    if (!event || !channel) return null;
    // Deliveries are retried each on its own: a trigger still undelivered once its resolve exists stays unsent.
    if (event.action === "trigger" && this.sql.exec(`SELECT 1 FROM alert_events WHERE key = ? AND seq > ? LIMIT 1`, event.key, event.seq).toArray().length > 0) {
      this.sql.exec(`UPDATE alert_deliveries SET state = 'superseded', updated_at = ? WHERE event_id = ? AND channel_id = ?`, now, eventId, channelId);
      return null;
    }
    return { event: eventOf(event), channel };
  }

  /** The operator acted on a run (resume, skip, abort): an alert they silenced for it may fire again for its next failure. */
  unsilence(keyPrefix: string, now: number): void {
    this.sql.exec(`UPDATE alerts SET state = 'resolved', updated_at = ?1 WHERE state = 'silenced' AND substr(key, 1, length(?2)) = ?2`, now, keyPrefix);
  }

  /** A consumer's attempt: delivered, or failed with why (the queue retries it). */
  attempted(eventId: string, channelId: string, error: string | null, now: number): void {
    this.sql.exec(
      `UPDATE alert_deliveries SET attempts = attempts + 1, state = CASE WHEN ?1 IS NULL THEN 'delivered' ELSE state END, last_error = ?1, updated_at = ?2
       WHERE event_id = ?3 AND channel_id = ?4 AND state IN ('queued', 'sent')`,
      error?.slice(0, 500) ?? null,
      now,
      eventId,
      channelId,
    );
  }

  /**
   * The queue gave up (its dead-letter queue): the delivery is recorded dead with the last error seen.
   * Returns whether it changed anything (a second copy of the message does not).
   */
  dead(eventId: string, channelId: string, now: number): boolean {
    return this.sql.exec(`UPDATE alert_deliveries SET state = 'dead', updated_at = ? WHERE event_id = ? AND channel_id = ? AND state IN ('queued', 'sent') RETURNING event_id`, now, eventId, channelId).toArray().length > 0;
  }

  // ── signals the conditions read ────────────────────────────────────────────────────────────

  /** Remembers when a job's progress last moved; returns since when it has stood still. */
  progress(jobId: string, signature: string, now: number): number {
    return this.sql
      .exec<{ since: number }>(
        `INSERT INTO alert_progress (job_id, signature, since) VALUES (?1, ?2, ?3)
         ON CONFLICT (job_id) DO UPDATE SET since = CASE WHEN signature = ?2 THEN since ELSE ?3 END, signature = ?2
         RETURNING since`,
        jobId,
        signature,
        now,
      )
      .one().since;
  }

  forgetProgress(activeJobIds: readonly string[]): void {
    this.sql.exec(`DELETE FROM alert_progress WHERE job_id NOT IN (SELECT value FROM json_each(?))`, JSON.stringify(activeJobIds));
  }

  signal(name: string, at: number): void {
    this.sql.exec(`INSERT INTO alert_signals (name, at) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET at = max(at, ?2)`, name, at);
  }

  signalAt(name: string): number | null {
    return this.sql.exec<{ at: number }>(`SELECT at FROM alert_signals WHERE name = ?`, name).toArray()[0]?.at ?? null;
  }

  // ──────────────────────────────────────────────────────────────────────────────────────────

  #alert(key: string): AlertRow | undefined {
    return this.sql.exec<AlertRow>(`SELECT * FROM alerts WHERE key = ?`, key).toArray()[0];
  }

  /** Records an event and queues it for each channel that wants its severity (or for `onlyChannel`). */
  #event(condition: Condition, action: AlertEvent["action"], now: number, onlyChannel?: string): AlertEvent {
    const event: AlertEvent = { id: crypto.randomUUID(), key: condition.key, kind: condition.kind, severity: condition.severity, action, summary: condition.summary, details: condition.details, at: new Date(now).toISOString() };
    this.sql.exec(
      `INSERT INTO alert_events (id, key, kind, severity, action, summary, details, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      event.id,
      event.key,
      event.kind,
      event.severity,
      event.action,
      event.summary,
      JSON.stringify(event.details),
      now,
    );
    const only = onlyChannel === undefined ? null : this.channel(onlyChannel);
    const channels = onlyChannel === undefined ? this.channels().filter((c) => severityAtLeast(event.severity, c.minSeverity)) : only ? [only] : [];
    for (const channel of channels) {
      this.sql.exec(`INSERT INTO alert_deliveries (event_id, channel_id, state, updated_at) VALUES (?, ?, 'queued', ?)`, event.id, channel.id, now);
    }
    this.#prune();
    return event;
  }

  #prune(): void {
    const oldest = this.sql.exec<{ seq: number }>(`SELECT seq FROM alert_events ORDER BY seq DESC LIMIT 1 OFFSET ?`, KEEP_EVENTS).toArray()[0];
    if (!oldest) return;
    this.sql.exec(`DELETE FROM alert_deliveries WHERE event_id IN (SELECT id FROM alert_events WHERE seq <= ?)`, oldest.seq);
    this.sql.exec(`DELETE FROM alert_events WHERE seq <= ?`, oldest.seq);
  }
}

type AlertRow = {
  key: string;
  kind: AlertKind;
  severity: Severity;
  summary: string;
  details: string;
  state: "firing" | "resolved" | "silenced";
  since: number;
  updated_at: number;
};

type EventRow = {
  seq: number;
  id: string;
  key: string;
  kind: AlertKind;
  severity: Severity;
  action: AlertEvent["action"];
  summary: string;
  details: string;
  at: number;
};

type ChannelRow = {
  id: string;
  kind: ChannelKind;
  name: string;
  target: string;
  sealed: string;
  min_severity: Severity;
  created_at: number;
};

function conditionOf(row: AlertRow): Condition {
  return { key: row.key, kind: row.kind, severity: row.severity, summary: row.summary, details: JSON.parse(row.details) };
}

function eventOf(row: EventRow): AlertEvent {
  return { id: row.id, key: row.key, kind: row.kind, severity: row.severity, action: row.action, summary: row.summary, details: JSON.parse(row.details), at: new Date(row.at).toISOString() };
}

function channelOf(row: ChannelRow): ChannelRecord {
  return { id: row.id, kind: row.kind, name: row.name, target: row.target, sealed: row.sealed, minSeverity: row.min_severity, createdAt: row.created_at };
}
