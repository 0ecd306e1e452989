import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { coordinator } from "../env";
import type { BackendSample } from "../cutover/metrics-model";
import { addSample, emptySample } from "../cutover/sample-sum";
import type { CutoverState } from "../cutover/state";
import { runMigrations, type Migration } from "../lib/do-migrations";
import { supersedes, type RelaySnapshot } from "./snapshot";

/**
 * Request metrics waiting for the next flush to the coordinator, one row per backend, state version
 * and generation: a flush sends every generation below the current one and deletes them once the
 * coordinator has them, while new samples go into the current generation.
 */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "metrics waiting for the coordinator",
    sql: `
      CREATE TABLE IF NOT EXISTS pending_samples (
        generation INTEGER NOT NULL,
        backend    TEXT    NOT NULL,
        version    INTEGER NOT NULL,
        sample     TEXT    NOT NULL,  -- JSON BackendSample
        PRIMARY KEY (generation, backend, version)
      )`,
  },
];

/** A relay sends the metrics it gathered to the coordinator at most this often. */
export const RELAY_FLUSH_MS = 1_000;
/** A relay trusts a state the coordinator pushed or it read for this long, then reads it again. */
export const RELAY_REFRESH_MS = 3_000;
/** When the coordinator cannot be read, a relay keeps answering with its last state for this long. */
const RELAY_MAX_STALE_MS = 60_000;
const FLUSH_RETRY_MAX_MS = 30_000;

/**
 * One shard of the control plane's relay layer (src/relay/): gates read the cutover state from a
 * relay and send it their request metrics, so that the coordinator's load depends on the number of
 * relays, not on the number of isolates. A relay holds the state the coordinator pushes on every
 * change (and reads it itself at most every RELAY_REFRESH_MS), and sums the gates' metrics into one
 * coordinator call per RELAY_FLUSH_MS. The metrics are stored until the coordinator has them.
 */
export class GateRelay extends DurableObject<Env> {
  #snapshot: RelaySnapshot | null = null;
  /** When the state held was last confirmed: pushed, or read from the coordinator. */
  #confirmedAt = -Infinity;
  #reading: Promise<void> | null = null;
  #generation = 0;
  #lastFlush = -Infinity;
  #flushArmed = false;
  #flushFailures = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      runMigrations(ctx.storage, MIGRATIONS);
      const top = ctx.storage.sql.exec<{ g: number | null }>(`SELECT max(generation) AS g FROM pending_samples`).one().g;
      this.#generation = (top ?? -1) + 1;
      // Metrics left by an earlier instance go out at once.
      if (top !== null) await this.#armFlush(Date.now());
    });
  }

  /** The cutover state for a gate: the one held while it is fresh, else read from the coordinator. */
  async getCutover(): Promise<CutoverState> {
    if (this.#snapshot && Date.now() - this.#confirmedAt < RELAY_REFRESH_MS) return this.#snapshot.state;
    try {
      // Requests arriving while a read runs share it (a Durable Object may await another request's I/O).
      await (this.#reading ??= this.#read().finally(() => (this.#reading = null)));
    } catch (e) {
      if (!this.#snapshot || Date.now() - this.#confirmedAt > RELAY_MAX_STALE_MS) throw e;
      console.error("relay: the coordinator could not be read; answering with the last state:", e);
    }
    return this.#snapshot!.state;
  }

  /** A change, pushed by the coordinator as it commits it. */
  async push(snapshot: RelaySnapshot): Promise<void> {
    this.#take(snapshot);
  }

  /** A gate's batch of metrics: added to the current generation, sent with the next flush. */
  async recordMetrics(samples: BackendSample[]): Promise<void> {
    const { sql } = this.ctx.storage;
    for (const sample of samples) {
      const row = sql
        .exec<{ sample: string }>(`SELECT sample FROM pending_samples WHERE generation = ? AND backend = ? AND version = ?`, this.#generation, sample.backend, sample.version)
        .toArray()[0];
      const sum = row ? (JSON.parse(row.sample) as BackendSample) : emptySample(sample.backend, sample.version);
      addSample(sum, sample);
      sql.exec(`INSERT OR REPLACE INTO pending_samples (generation, backend, version, sample) VALUES (?, ?, ?, ?)`, this.#generation, sample.backend, sample.version, JSON.stringify(sum));
    }
    if (!this.#flushArmed) await this.#armFlush(Math.max(Date.now(), this.#lastFlush + RELAY_FLUSH_MS));
  }

  override async alarm(): Promise<void> {
    this.#flushArmed = false;
    await this.#flush();
  }

  async #read(): Promise<void> {
    this.#take(await coordinator(this.env, this.#coordinatorName()).relaySnapshot());
  }

  #take(snapshot: RelaySnapshot): void {
    if (supersedes(snapshot, this.#snapshot)) this.#snapshot = snapshot;
    this.#confirmedAt = Date.now();
  }

  /** Sends every finished generation to the coordinator in one call; on failure they wait for the next try. */
  async #flush(): Promise<void> {
    const { sql } = this.ctx.storage;
    const upTo = this.#generation++;
    const rows = sql.exec<{ sample: string }>(`SELECT sample FROM pending_samples WHERE generation <= ?`, upTo).toArray();
    if (rows.length === 0) return;
    const merged = new Map<string, BackendSample>();
    for (const { sample } of rows) {
      const s = JSON.parse(sample) as BackendSample;
      const key = `${s.backend}@${s.version}`;
      const into = merged.get(key) ?? emptySample(s.backend, s.version);
      addSample(into, s);
      merged.set(key, into);
    }
    this.#lastFlush = Date.now();
    try {
      await coordinator(this.env, this.#coordinatorName()).recordMetrics([...merged.values()]);
      sql.exec(`DELETE FROM pending_samples WHERE generation <= ?`, upTo);
      this.#flushFailures = 0;
    } catch (e) {
      this.#flushFailures++;
      console.error(`relay: metrics flush failed (${this.#flushFailures} in a row); kept for the next one:`, e);
      await this.#armFlush(Date.now() + Math.min(FLUSH_RETRY_MAX_MS, RELAY_FLUSH_MS * 2 ** this.#flushFailures));
    }
  }

  async #armFlush(at: number): Promise<void> {
    this.#flushArmed = true;
    await this.ctx.storage.setAlarm(at);
  }

  /** Relays are named `<coordinator>/<shard>` (shards.ts). */
  #coordinatorName(): string {
    const name = this.ctx.id.name;
    if (!name || !name.includes("/")) throw new Error("a GateRelay is reached by its name, <coordinator>/<shard>");
    return name.slice(0, name.lastIndexOf("/"));
  }
}
