import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { coordinator } from "../env";
import type { BackendSample } from "../cutover/metrics-model";
import { addSample, emptySample, sumSamples } from "../cutover/sample-sum";
import { backendSampleSchema } from "./sample-schema";
import type { CutoverState } from "../cutover/state";
import { runMigrations, type Migration } from "../lib/do-migrations";
import { withTimeout } from "../lib/timeout";
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
  {
    version: 2,
    description: "the flush under way, so that a retry sends the same batch under the same id",
    sql: `
      CREATE TABLE IF NOT EXISTS flush (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        seq      INTEGER NOT NULL,   -- flushes started so far
        up_to    INTEGER,            -- the generations the flush under way sends (NULL: none under way)
        batch_id TEXT                -- its id, which the coordinator counts once
      );
      INSERT OR IGNORE INTO flush (id, seq) VALUES (1, 0);`,
  },
];

/** A relay sends the metrics it gathered to the coordinator at most this often. */
export const RELAY_FLUSH_MS = 1_000;
/** A relay trusts a state the coordinator pushed or it read for this long, then reads it again. */
export const RELAY_REFRESH_MS = 3_000;
/** When the coordinator cannot be read, a relay keeps answering with its last state for this long. */
const RELAY_MAX_STALE_MS = 60_000;
/** A coordinator read that takes longer is given up (the gates' own caches give up after 1 s). */
const RELAY_READ_TIMEOUT_MS = 500;
/** After a failed read, a relay does not ask the coordinator again for this long (no herd on a sick coordinator). */
const RELAY_READ_BACKOFF_MS = 1_000;
const FLUSH_RETRY_MAX_MS = 30_000;
/** Samples one gate batch may carry (a gate sends one per backend and state version it served under). */
const MAX_SAMPLES_PER_BATCH = 64;

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
  #readFailedAt = -Infinity;
  #readError: unknown = null;
  #generation = 0;
  #lastFlush = -Infinity;
  #flushArmed = false;
  #flushFailures = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      runMigrations(ctx.storage, MIGRATIONS);
      const top = ctx.storage.sql.exec<{ g: number | null }>(`SELECT max(generation) AS g FROM pending_samples`).one().g;
      const inFlight = ctx.storage.sql.exec<{ up_to: number | null }>(`SELECT up_to FROM flush WHERE id = 1`).one().up_to;
      // New samples go above any generation a flush under way may send again under its id.
      this.#generation = Math.max(top ?? -1, inFlight ?? -1) + 1;
      // Metrics left by an earlier instance go out at once.
      if (top !== null || inFlight !== null) await this.#armFlush(Date.now());
    });
  }

  /** The cutover state for a gate: the one held while it is fresh, else read from the coordinator. */
  async getCutover(): Promise<CutoverState> {
    if (this.#snapshot && Date.now() - this.#confirmedAt < RELAY_REFRESH_MS) return this.#snapshot.state;
    try {
      if (Date.now() - this.#readFailedAt < RELAY_READ_BACKOFF_MS) throw this.#readError;
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
    for (const offered of samples.slice(0, MAX_SAMPLES_PER_BATCH)) {
      const parsed = backendSampleSchema.safeParse(offered);
      if (!parsed.success) {
        console.error(`relay: dropping a malformed metric sample: ${parsed.error.message}`);
        continue;
      }
      const sample = parsed.data;
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
    try {
      this.#take(await withTimeout(coordinator(this.env, this.#coordinatorName()).relaySnapshot(), RELAY_READ_TIMEOUT_MS, `the coordinator did not answer within ${RELAY_READ_TIMEOUT_MS} ms`));
    } catch (e) {
      this.#readFailedAt = Date.now();
      this.#readError = e;
      throw e;
    }
  }

  /** Takes a newer state; the one held counts as confirmed only by an offer at least as new. */
  #take(snapshot: RelaySnapshot): void {
    if (supersedes(snapshot, this.#snapshot)) this.#snapshot = snapshot;
    else if (snapshot.state.version < this.#snapshot!.state.version) return;
    this.#confirmedAt = Date.now();
  }

  /**
   * Sends every finished generation to the coordinator in one call, under an id the coordinator
   * counts once: a flush whose answer was lost is sent again as the same batch (after a restart too),
   * never added twice. On failure the generations wait for the next try.
   */
  async #flush(): Promise<void> {
    const { sql } = this.ctx.storage;
    let flush = sql.exec<{ seq: number; up_to: number | null; batch_id: string | null }>(`SELECT seq, up_to, batch_id FROM flush WHERE id = 1`).one();
    if (flush.up_to === null) {
      const upTo = this.#generation++;
      if (sql.exec<{ n: number }>(`SELECT count(*) AS n FROM pending_samples WHERE generation <= ?`, upTo).one().n === 0) return;
      flush = { seq: flush.seq + 1, up_to: upTo, batch_id: `${this.ctx.id.toString()}:${flush.seq + 1}` };
      sql.exec(`UPDATE flush SET seq = ?, up_to = ?, batch_id = ? WHERE id = 1`, flush.seq, flush.up_to, flush.batch_id);
    }
    const rows = sql.exec<{ sample: string }>(`SELECT sample FROM pending_samples WHERE generation <= ?`, flush.up_to).toArray();
    const samples = sumSamples(rows.map((row) => JSON.parse(row.sample) as BackendSample));
    this.#lastFlush = Date.now();
    try {
      await coordinator(this.env, this.#coordinatorName()).recordMetrics(samples, flush.batch_id!);
      this.ctx.storage.transactionSync(() => {
        sql.exec(`DELETE FROM pending_samples WHERE generation <= ?`, flush.up_to);
        sql.exec(`UPDATE flush SET up_to = NULL, batch_id = NULL WHERE id = 1`);
      });
      this.#flushFailures = 0;
      // What arrived during the flush goes out at the next one.
      if (sql.exec<{ n: number }>(`SELECT count(*) AS n FROM pending_samples`).one().n > 0) await this.#armFlush(this.#lastFlush + RELAY_FLUSH_MS);
    } catch (e) {
      this.#flushFailures++;
      console.error(`relay: metrics flush failed (${this.#flushFailures} in a row); kept for the next one:`, e);
      await this.#armFlush(Date.now() + Math.min(FLUSH_RETRY_MAX_MS, RELAY_FLUSH_MS * 2 ** this.#flushFailures));
    }
  }

  async #armFlush(at: number): Promise<void> {
    await this.ctx.storage.setAlarm(at);
    this.#flushArmed = true;
  }

  /** Relays are named `<coordinator>/<shard>` (shards.ts). */
  #coordinatorName(): string {
    const name = this.ctx.id.name;
    if (!name || !name.includes("/")) throw new Error("a GateRelay is reached by its name, <coordinator>/<shard>");
    return name.slice(0, name.lastIndexOf("/"));
  }
}
