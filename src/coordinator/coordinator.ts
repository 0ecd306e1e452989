import { DurableObject } from "cloudflare:workers";
import { COORDINATOR_NAME, positiveVar, type Env } from "../env";
import type { ItemReport } from "../copy/messages";
import { existingFileChecksums } from "../copy/existing-checksums";
import { EXPORT_TABLES, exportObjectKey, REQUIRED_TABLES } from "../legacy/export-contract";
import type { BackendSample } from "../cutover/metrics-model";
import { RelayFanout } from "../relay/fanout";
import { relay, relayShards } from "../relay/shards";
import type { RelaySnapshot } from "../relay/snapshot";
import type { CutoverPatch } from "../cutover/patch-schema";
import type { CutoverState } from "../cutover/state";
import { runMigrations } from "../lib/do-migrations";
import { refuse, type Outcome } from "../lib/outcome";
import { lastOutboxSeq } from "../sync/outbox";
import type { BundleTable } from "../sync/reverse-bundle-format";
import { tombstonedIds } from "../sync/tombstones";
import { AuditOutbox } from "./audit-outbox";
import { planResolution } from "./conflict-resolution";
import { ConflictStore, publicView } from "./conflicts";
import { ANALYSIS_INTERVAL_MS, CutoverControl } from "./cutover-control";
import { CutoverRun } from "./cutover-run";
import type { RunControl, RunPlan } from "./cutover-run-model";
import { runView, type RunView } from "./cutover-run-view";
import { ExportUploads, RunStore } from "./cutover-runs";
import { Dispatcher } from "./dispatcher";
import { JobStore, type JobRecord, type ReverseCounters } from "./jobs";
import { Ledger } from "./ledger";
import { jobSettingsSchema, STEP_BOUNDS_MS, verifiesOnly, type ConflictResolution, type ConflictState, type ConflictView, type CreateJobInput, type FailureCursor, type FailurePage, type JobView, type SyncStatus } from "./model";
import { initialPlan, planStep, RECONCILE_PAGE } from "./planner";
import { MAX_REPORT_PAGE, type ReportConflict, type ReportHead, type ReportItem, type ReportPage, type ReportRowError, type RowErrorCursor } from "./report";
import { emptyReverse } from "./reverse-planner";
import { ReverseStore, type AppliedRecord } from "./reverse-store";
import { roundTripStep } from "./round-trip";
import { COORDINATOR_MIGRATIONS } from "./schema";
import { Wakeups } from "./wakeups";
import { runValidation } from "../validation/suite";
import { conditions } from "../alerts/conditions";
import { checkChannelUrl } from "../alerts/channel-url";
import { channelSecret, channelView, shownTarget, type ChannelInput, type ChannelRecord } from "../alerts/model";
import { seal, sealingKeyUsable } from "../alerts/secrets";
import { AlertStore, SEND_BATCH } from "../alerts/store";
import { withTimeout } from "../lib/timeout";

export type JobAction = "pause" | "resume" | "cancel" | "retry-failed";

/** However quiet a job is, the alarm checks on it at least this often. */
const HEARTBEAT_MS = 30_000;
/** While dispatch waits only for rate tokens, never wake sooner than this. */
const MIN_WAKE_MS = 20;
/** A step that throws (a D1 or R2 hiccup) is tried again after this, and the job fails after this many in a row. */
const STEP_RETRY_MS = 5_000;
const MAX_STEP_FAILURES = 10;
/** Audit entries D1 refused are pushed again after 5 s, doubling up to a minute. */
const AUDIT_RETRY_MS = 5_000;
const AUDIT_RETRY_MAX_MS = 60_000;
/** A round-trip step that throws (D1 down) is tried again after this. */
const ROUND_TRIP_RETRY_MS = 5_000;
/** A cutover run's step that throws (D1 or R2 down) is tried again after this; its stage's timeout still runs. */
const RUN_RETRY_MS = 5_000;
/** While anything may need an alert (a job, a canary, a firing alert), its conditions are checked this often. */
const ALERT_CHECK_MS = 30_000;
/** Handing deliveries to the alert queue: at most this long a send, retried after ALERT_SEND_RETRY_MS. */
const ALERT_SEND_TIMEOUT_MS = 2_000;
const ALERT_SEND_RETRY_MS = 5_000;
/** A gate's report of a stale state raises gate.stale for this long. */
const GATE_STALE_MS = 120_000;

/**
 * Owns every migration job (its state machine, the per-item ledger in SQLite) and the cutover
 * state, and wakes itself up for each (wakeups.ts): to plan, dispatch, expire leases and finish a
 * job, to judge the cutover, and to push audit entries to D1. All state is in storage, so a wake-up
 * after an eviction or a redeploy resumes exactly where the ledger says.
 */
export class MigrationCoordinator extends DurableObject<Env> {
  readonly #jobs: JobStore;
  readonly #ledger: Ledger;
  readonly #conflicts: ConflictStore;
  readonly #dispatcher: Dispatcher;
  readonly #audit: AuditOutbox;
  readonly #cutover: CutoverControl;
  readonly #wakeups: Wakeups;
  readonly #reverse: ReverseStore;
  readonly #uploads: ExportUploads;
  readonly #runs: RunStore;
  readonly #run: CutoverRun;
  readonly #relays: RelayFanout;
  readonly #alerts: AlertStore;
  /** What the alert conditions were last checked against (cutover version, jobs' states, the run's): a change checks them again. */
  #alertInputs = "";

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const { sql } = ctx.storage;
    this.#jobs = new JobStore(sql);
    this.#ledger = new Ledger(sql);
    this.#conflicts = new ConflictStore(sql);
    this.#reverse = new ReverseStore(sql);
    this.#dispatcher = new Dispatcher(this.#ledger, env.COPY_QUEUE);
    this.#audit = new AuditOutbox(sql, env.DB);
    this.#alerts = new AlertStore(sql);
    // Only the environment's coordinator has relays (a test's own coordinator is read directly).
    const shards = ctx.id.name === COORDINATOR_NAME ? relayShards(env) : 0;
    if (ctx.id.name === undefined) console.error("coordinator: reached without its name; pushing to no relay (they read the state every 3 s)");
    this.#relays = new RelayFanout(() => Array.from({ length: shards }, (_, i) => relay(env, i, COORDINATOR_NAME)));
    this.#cutover = new CutoverControl(
      ctx.storage,
      this.#audit,
      { syncLagSeconds: (now) => this.#syncStatus(now).lagSeconds, appliedSeq: () => this.#reverse.appliedSeq() },
      (state) => this.#relays.announce({ epoch: this.#epoch(), state }),
    );
    this.#uploads = new ExportUploads(sql);
    this.#runs = new RunStore(sql);
    this.#run = new CutoverRun(this.#runs, this.#uploads, {
      cutover: () => this.#cutover.state(),
      updateCutover: (patch, actor, now) => this.#cutover.update(patch, actor, now),
      rollback: (actor, reason, evidence, now) => this.#cutover.rollback(actor, reason, evidence, now, true),
      holdPlan: (held, actor, now) => this.#cutover.holdPlan(held, actor, now),
      createJob: (input, actor) => this.createJob(input, actor),
      job: (id) => {
        const job = this.#jobs.get(id);
        return job ? this.#view(job) : null;
      },
      jobCreatedBy: (actor, input, since, known) => {
        const job = this.#jobs.list(20).find((j) => j.counters.createdBy === actor && j.kind === input.kind && j.exportSet === (input.exportSet ?? null) && j.createdAt >= since && !known.includes(j.id));
        return job ? this.#view(job) : null;
      },
      controlJob: (id, action, actor) => this.control(id, action, actor),
      lastSyncExportedAt: () => this.#jobs.lastSync()?.counters.exportedAt ?? null,
      validate: (sample, exportSet) => runValidation(env, { sample, exportSet }),
      audit: (actor, action, details, now) => this.#audit.add({ actor, action, target: "cutover", details }, now),
    });
    this.#wakeups = new Wakeups(ctx.storage, {
      job: { run: (now) => this.#jobWake(now), failed: (error, failures, now) => this.#jobStepFailed(error, failures, now) },
      cutover: {
        run: async (now) => this.#cutover.evaluate(now),
        failed: (error, failures, now) => {
          console.error(`cutover evaluation failed (${failures} in a row); trying again:`, error);
          return now + ANALYSIS_INTERVAL_MS;
        },
      },
      audit: {
        run: async () => {
          await this.#audit.deliver();
          return null;
        },
        failed: (error, failures, now) => {
          console.error(`audit entries could not reach D1 (${failures} in a row); kept, and pushed again later:`, error);
          return now + Math.min(AUDIT_RETRY_MAX_MS, AUDIT_RETRY_MS * 2 ** (failures - 1));
        },
      },
      run: {
        run: (now) => this.#runStep(now),
        failed: (error, failures, now) => {
          console.error(`cutover run step failed (${failures} in a row); trying again:`, error);
          return now + RUN_RETRY_MS;
        },
      },
      alerts: {
        run: () => this.#alertsWake(),
        failed: (error, failures, now) => {
          console.error(`alert check or send failed (${failures} in a row); trying again:`, error);
          return now + Math.min(ALERT_CHECK_MS * 10, ALERT_SEND_RETRY_MS * 2 ** (failures - 1));
        },
      },
      roundtrip: {
        run: (now) => this.#roundTrip(now),
        failed: (error, failures, now) => {
          console.error(`round trip of an applied bundle failed (${failures} in a row); trying again:`, error);
          return now + ROUND_TRIP_RETRY_MS;
        },
      },
    });
    void ctx.blockConcurrencyWhile(async () => {
      runMigrations(ctx.storage, COORDINATOR_MIGRATIONS);
    });
  }

  // ── cutover ────────────────────────────────────────────────────────────────────────────────

  /** Cutover state reads since this instance started: what the gates' caches (or the relays) cost it (bench:gate reports it). */
  #stateReads = 0;
  /** Metric batches received since this instance started (from gates, or from relays). */
  #metricBatches = 0;

  /** The cutover state, as the gates cache it. */
  async getCutover(): Promise<CutoverState> {
    this.#stateReads++;
    return this.#cutover.state();
  }

  /** The cutover state with this storage's epoch, as a relay holds it (relay/snapshot.ts). */
  async relaySnapshot(): Promise<RelaySnapshot> {
    this.#stateReads++;
    return { epoch: this.#epoch(), state: this.#cutover.state() };
  }

  async stateReads(): Promise<number> {
    return this.#stateReads;
  }

  /** The calls the control plane made to this instance since it started: the number the relay layer keeps flat. */
  async controlPlaneCalls(): Promise<{ stateReads: number; metricBatches: number }> {
    return { stateReads: this.#stateReads, metricBatches: this.#metricBatches };
  }

  #epoch(): string {
    return this.ctx.storage.sql.exec<{ epoch: string }>(`SELECT epoch FROM instance WHERE id = 1`).one().epoch;
  }

  async updateCutover(patch: CutoverPatch, actor: string): Promise<Outcome<CutoverState>> {
    const outcome = this.#cutover.update(patch, actor, Date.now());
    if (outcome.ok) {
      // Judge the new state at once: this sets when the analysis looks again.
      await this.#wakeups.runNow("cutover");
      await this.#settleChange();
    }
    return outcome;
  }

  async rollbackCutover(actor: string, reason: string): Promise<Outcome<CutoverState>> {
    const outcome = this.#cutover.rollback(actor, reason, null, Date.now());
    if (outcome.ok) await this.#settleChange();
    return outcome;
  }

  /** A batch of request metrics from one gate's isolate; while the cutover is watched, judged at once. */
  /**
   * A batch of request metrics from one gate's isolate, or from a relay (with `batchId`, counted once
   * however often it is sent). Once recorded, the batch is taken: a failure of the analysis that
   * follows is the analysis's own (it retries), not a reason to send the batch again.
   */
  async recordMetrics(samples: BackendSample[], batchId?: string): Promise<void> {
    this.#metricBatches++;
    if (!this.#cutover.record(samples, Date.now(), batchId)) return;
    if (!this.#cutover.watched()) return;
    try {
      await this.#wakeups.runNow("cutover");
      await this.#settleChange();
    } catch (e) {
      console.error("metrics recorded; judging them failed, and the analysis will try again:", e);
    }
  }

  async metrics(windowSeconds: number) {
    return this.#cutover.metricsReport(windowSeconds, Date.now());
  }

  /** The sums behind metrics(), latency histograms included (the Prometheus form of /admin/metrics). */
  async metricsTotals(windowSeconds: number) {
    return this.#cutover.metricsTotals(windowSeconds, Date.now());
  }

  /** What the gates counted per backend and status class since the counters began. */
  async metricsCounters() {
    return this.#cutover.metricsCounters();
  }

  /** The judged numbers over the last `windowSeconds` as a series (the dashboard's charts). */
  async metricsSeries(windowSeconds: number) {
    return this.#cutover.metricsSeries(windowSeconds, Date.now());
  }

  // ── cutover run ────────────────────────────────────────────────────────────────────────────

  /** Starts a cutover run (cutover-run.ts): the export set must be uploaded, no job active, the cutover on legacy. */
  async startRun(plan: RunPlan, actor: string): Promise<Outcome<RunView>> {
    const set = await this.#exportSet(plan.exportSet);
    if (!set.ok) return set;
    const active = this.#jobs.active();
    if (active) return refuse(409, `job ${active.id} is still ${active.state}; let it finish or cancel it first`);
    const started = this.#run.start(plan, actor, Date.now());
    if (!started.ok) return started;
    await this.#wakeups.runNow("run");
    await this.#settleChange();
    return { ok: true, value: (await this.getRun()).value! };
  }

  /** The newest cutover run (running, paused or finished). */
  async getRun(): Promise<{ ok: true; value: RunView | null }> {
    const run = this.#runs.latest();
    if (!run) return { ok: true, value: null };
    const stage = run.stages.find((s) => s.state === "running") ?? [...run.stages].reverse().find((s) => s.jobIds.length > 0);
    const jobId = stage?.jobIds.at(-1);
    const job = jobId ? this.#jobs.get(jobId) : null;
    const state = this.#cutover.state();
    const newApp = this.#cutover.metricsReport(state.thresholds.windowSeconds, Date.now()).workers;
    return { ok: true, value: runView(run, { state, job: job ? this.#view(job) : null, sync: this.#syncStatus(Date.now()), newApp }) };
  }

  async controlRun(input: RunControl, actor: string): Promise<Outcome<RunView>> {
    const outcome = await this.#run.control(input, actor, Date.now());
    if (!outcome.ok) return outcome;
    // The operator has acted: the run's next failure pages again, even if they silenced the last one.
    this.#alerts.unsilence("run:", Date.now());
    await this.#wakeups.runNow("run");
    await this.#wakeups.runNow("cutover");
    await this.#settleChange();
    return { ok: true, value: (await this.getRun()).value! };
  }

  /** An export table was uploaded (PUT /admin/exports): a run waiting for a fresh export set may go on. */
  async exportUploaded(set: string, table: string, uploadedAt: number, bytes: number): Promise<void> {
    this.#uploads.record(set, table, uploadedAt, bytes);
    if (this.#runs.unfinished()) await this.#wakeups.request("run", Date.now());
  }

  /** The "run" wake-up: the run's stages as far as they go; the cutover is judged at once after a change. */
  async #runStep(now: number): Promise<number | null> {
    const version = this.#cutover.state().version;
    const next = await this.#run.step(now);
    if (this.#cutover.state().version !== version) await this.#wakeups.request("cutover", Date.now());
    return next;
  }

  // ── alerts ─────────────────────────────────────────────────────────────────────────────────

  /** Firing alerts, the newest events with their deliveries, and the channels (never their secrets). */
  async alertsView(limit = 50) {
    return { firing: this.#alerts.firing(), events: this.#alerts.recent(limit), channels: this.#alerts.channels().map(channelView) };
  }

  async addAlertChannel(input: ChannelInput, actor: string): Promise<Outcome<ReturnType<typeof channelView>>> {
    const refused = checkChannelUrl(input.url, this.env, input.kind);
    if (refused) return refuse(400, `url: ${refused}`, "url");
    if (!sealingKeyUsable(this.env.ALERT_SECRETS_KEY)) return refuse(409, "ALERT_SECRETS_KEY is not set (at least 32 characters): channel secrets cannot be sealed", "ALERT_SECRETS_KEY");
    const id = crypto.randomUUID();
    const now = Date.now();
    const channel: ChannelRecord = { id, kind: input.kind, name: input.name, target: shownTarget(input), sealed: await seal(this.env.ALERT_SECRETS_KEY, id, JSON.stringify(channelSecret(input))), minSeverity: input.minSeverity, createdAt: now };
    this.ctx.storage.transactionSync(() => {
      this.#alerts.addChannel(channel);
      this.#audit.add({ actor, action: "alert.channel.add", target: `channel:${id}`, details: { kind: channel.kind, name: channel.name, target: channel.target, minSeverity: channel.minSeverity } }, now);
    });
    await this.#settleChange();
    return { ok: true, value: channelView(channel) };
  }

  async removeAlertChannel(id: string, actor: string): Promise<Outcome<{ removed: string }>> {
    const now = Date.now();
    const removed = this.ctx.storage.transactionSync(() => {
      const gone = this.#alerts.removeChannel(id);
      if (gone) this.#audit.add({ actor, action: "alert.channel.remove", target: `channel:${id}` }, now);
      return gone;
    });
    if (!removed) return refuse(404, `no alert channel ${id}`);
    await this.#settleChange();
    return { ok: true, value: { removed: id } };
  }

  /** Sends a test message to one channel (through the queue, like any alert). */
  async testAlertChannel(id: string, actor: string): Promise<Outcome<{ eventId: string }>> {
    if (!this.#alerts.channel(id)) return refuse(404, `no alert channel ${id}`);
    const now = Date.now();
    const event = this.ctx.storage.transactionSync(() => {
      const made = this.#alerts.test(id, actor, now);
      this.#audit.add({ actor, action: "alert.test", target: `channel:${id}`, details: { eventId: made.id } }, now);
      return made;
    });
    await this.#wakeups.runNow("alerts");
    await this.#settleChange();
    return { ok: true, value: { eventId: event.id } };
  }

  /** The operator resolves a firing alert: its resolve goes out, and it stays quiet until its condition clears. */
  async resolveAlert(key: string, actor: string): Promise<Outcome<{ key: string }>> {
    const now = Date.now();
    const event = this.ctx.storage.transactionSync(() => {
      const made = this.#alerts.silence(key, now);
      if (made) this.#audit.add({ actor, action: "alert.resolve", target: key, details: { eventId: made.id, by: "operator" } }, now);
      return made;
    });
    if (!event) return refuse(404, `no firing alert ${key}`);
    await this.#wakeups.runNow("alerts");
    await this.#settleChange();
    return { ok: true, value: { key } };
  }

  /** For the alert queue's consumer: the event and channel of a delivery still to make (null: nothing to do). */
  async alertDelivery(eventId: string, channelId: string) {
    return this.#alerts.delivery(eventId, channelId, Date.now());
  }

  async alertAttempted(eventId: string, channelId: string, error: string | null): Promise<void> {
    this.#alerts.attempted(eventId, channelId, error, Date.now());
  }

  async alertDead(eventId: string, channelId: string): Promise<void> {
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      if (this.#alerts.dead(eventId, channelId, now)) this.#audit.add({ actor: "alerts", action: "alert.delivery_dead", target: `channel:${channelId}`, details: { eventId } }, now);
    });
    await this.#settleChange();
  }

  /** A gate served a cutover state it could not refresh (sent through the alert queue: the gate may not reach this object). */
  async gateStale(at: number): Promise<void> {
    const now = Date.now();
    const before = this.#alerts.signalAt("gate.stale");
    this.#alerts.signal("gate.stale", Math.min(at, now));
    // Only a report that starts the condition asks for a check; later ones extend it (the 30 s checks see them).
    if (before === null || now - before >= GATE_STALE_MS) await this.#wakeups.request("alerts", now);
  }

  /** One alert check at a time: two overlapping ones (an operator's test during the alarm's) would send the same deliveries twice. */
  #alerting: Promise<unknown> = Promise.resolve();

  /** The "alerts" wake-up: checks every condition, records and audits what started or ended, hands deliveries to the queue. */
  #alertsWake(): Promise<number | null> {
    const run = this.#alerting.then(() => this.#checkAlerts(Date.now()));
    this.#alerting = run.catch(() => {});
    return run;
  }

  async #checkAlerts(now: number): Promise<number | null> {
    this.#alertInputs = this.#alertInputsNow();
    const snapshot = await this.#alertSnapshot(now);
    const holding = conditions(snapshot);
    this.ctx.storage.transactionSync(() => {
      for (const event of this.#alerts.reconcile(holding, now)) {
        this.#audit.add({ actor: "alerts", action: `alert.${event.action}`, target: event.key, details: { eventId: event.id, kind: event.kind, severity: event.severity, summary: event.summary } }, now);
      }
    });
    await this.#sendAlerts(now);
    const { cutover, run } = snapshot;
    const watching = this.#jobs.active() !== null || !["legacy", "complete"].includes(cutover.phase) || cutover.holdBack != null || this.#alerts.firing().length > 0 || run !== null;
    return watching ? now + ALERT_CHECK_MS : null;
  }

  /**
   * Hands queued deliveries to the alert queue, a bounded wait per send. Throws if the queue refused
   * or did not answer: what is left stays queued, and the wake-up's failure handler backs off.
   */
  async #sendAlerts(now: number): Promise<void> {
    for (let round = 0; round < 10; round++) {
      const queued = this.#alerts.queued(SEND_BATCH);
      if (queued.length === 0) return;
      await withTimeout(this.env.ALERT_QUEUE.sendBatch(queued.map((body) => ({ body, contentType: "json" }))), ALERT_SEND_TIMEOUT_MS, "the alert queue did not take the deliveries in time");
      this.#alerts.markSent(queued, now);
    }
  }

  #alertInputsNow(): string {
    const run = this.#runs.latest();
    const jobs = this.#jobs.list(5).map((j) => `${j.id}:${j.state}:${j.paused}`);
    return `${this.#cutover.state().version}|${jobs.join(",")}|${run?.id ?? ""}:${run?.state ?? ""}:${run?.attention ?? ""}|${this.#alerts.queued(1).length}`;
  }

  async #alertSnapshot(now: number) {
    const cutover = this.#cutover.state();
    const active = this.#jobs.active();
    const stalls: { jobId: string; state: string; since: number }[] = [];
    if (active && !active.paused) {
      const counts = this.#ledger.counts(active.id);
      const signature = `${active.state}|${counts.done}|${counts.failed}|${JSON.stringify(active.plan)}`;
      stalls.push({ jobId: active.id, state: active.state, since: this.#alerts.progress(active.id, signature, now) });
    }
    this.#alerts.forgetProgress(active && !active.paused ? [active.id] : []);
    const run = this.#runs.unfinished();
    let reversePending: number | null = null;
    if (cutover.holdBack) {
      try {
        reversePending = Math.max(0, (await lastOutboxSeq(this.env.DB)) - cutover.holdBack.afterSeq);
      } catch (e) {
        console.error("alerts: the outbox could not be read; reverse.pending left as it was:", e);
        reversePending = this.#alerts.firing().some((a) => a.key === "reverse.pending") ? 1 : null;
      }
    }
    return {
      now,
      cutover,
      // Failures are counted only for the jobs that may alert (counting reads a job's bad rows).
      jobs: this.#jobs.list(20).map((j) => ({ id: j.id, kind: j.kind, exportSet: j.exportSet, state: j.state, paused: j.paused, error: j.error, finishedAt: j.finishedAt, failed: j.state === "completed_with_failures" ? this.#ledger.counts(j.id).failed + this.#ledger.rowErrorCount(j.id) : 0 })),
      stalls,
      stallMs: positiveVar(this.env.ALERT_STALL_SECONDS, 900) * 1000,
      run: run ? { id: run.id, stage: run.stages.find((st) => st.state === "running")?.name ?? null, attention: run.attention } : null,
      sync: { lagSeconds: this.#syncStatus(now).lagSeconds, maxLagSeconds: positiveVar(this.env.ALERT_MAX_SYNC_LAG_SECONDS, 3600) },
      gateStaleAt: this.#alerts.signalAt("gate.stale"),
      gateStaleMs: GATE_STALE_MS,
      reversePending,
    };
  }

  // ── migration jobs ─────────────────────────────────────────────────────────────────────────

  async createJob(input: CreateJobInput, actor: string): Promise<Outcome<JobView>> {
    const active = this.#jobs.active();
    if (active) return refuse(409, `job ${active.id} is still ${active.state}; pause or cancel it first`);
    let exportedAt: number | undefined;
    if (input.kind === "full" || input.kind === "delta") {
      const set = await this.#exportSet(input.exportSet!);
      if (!set.ok) return set;
      exportedAt = set.value;
    }
    // A reverse job's range is fixed now: (since, the last outbox entry], so it stays the same however long it plans.
    let reverse: ReverseCounters | undefined;
    if (input.kind === "reverse") {
      const toSeq = await lastOutboxSeq(this.env.DB);
      const fromSeq = input.since ?? this.#reverse.appliedSeq();
      if (fromSeq > toSeq) return refuse(400, `since: ${fromSeq} is past the last outbox entry (${toSeq})`, "since");
      reverse = emptyReverse(fromSeq, toSeq);
    }
    // Another job may have been created while this one waited on R2 or D1.
    const racing = this.#jobs.active();
    if (racing) return refuse(409, `job ${racing.id} is still ${racing.state}; pause or cancel it first`);
    const now = Date.now();
    const job = this.ctx.storage.transactionSync(() => {
      const created = this.#jobs.create(
        {
          id: crypto.randomUUID(),
          kind: input.kind,
          exportSet: input.exportSet ?? null,
          settings: jobSettingsSchema.parse(input.settings ?? {}),
          plan: initialPlan(input.kind, reverse?.fromSeq),
        },
        now,
        { createdBy: actor, ...(exportedAt === undefined ? {} : { exportedAt }), ...(reverse ? { reverse } : {}) },
      );
      this.#audit.add({ actor, action: "job.create", target: created.id, details: input }, now);
      return created;
    });
    await this.#wakeups.request("job", now);
    await this.#settleChange();
    return { ok: true, value: this.#view(job) };
  }

  /** An export set's oldest table upload (how old the legacy data it brings can be: syncStatus); 400 if a required table is missing. */
  async #exportSet(name: string): Promise<Outcome<number | undefined>> {
    let exportedAt: number | undefined;
    for (const table of EXPORT_TABLES) {
      const head = await this.env.FILES.head(exportObjectKey(name, table));
      if (head) exportedAt = Math.min(exportedAt ?? Infinity, head.uploaded.getTime());
      else if (REQUIRED_TABLES.includes(table)) return refuse(400, `export set '${name}' has no ${table}.csv`, "exportSet");
    }
    return { ok: true, value: exportedAt };
  }

  async listJobs(limit = 50): Promise<JobView[]> {
    return this.#jobs.list(limit).map((job) => this.#view(job));
  }

  async getJob(id: string): Promise<Outcome<JobView>> {
    const job = this.#jobs.get(id);
    return job ? { ok: true, value: this.#view(job) } : notFound(id);
  }

  async failures(id: string, limit: number, offset: number, reason: string | null = null, after: FailureCursor | null = null): Promise<Outcome<FailurePage>> {
    return this.#jobs.get(id) ? { ok: true, value: this.#ledger.failures(id, limit, offset, reason, after) } : notFound(id);
  }


  /** A job report's head: the job, and its items per outcome, bad rows and conflicts. */
  async reportSummary(id: string): Promise<Outcome<ReportHead>> {
    const job = this.#jobs.get(id);
    if (!job) return notFound(id);
    const summary = { ...this.#ledger.reportSummary(id, verifiesOnly(job.kind)), conflicts: this.#conflicts.counts(id).total };
    return { ok: true, value: { job: { id: job.id, kind: job.kind, state: job.state }, summary } };
  }

  /** A report page of the job's items after file id `after`: all of them, or only failed ones (see Ledger.reportItems). */
  async reportItems(id: string, after: string, limit: number, errorsOnly: boolean): Promise<Outcome<ReportPage<ReportItem, string>>> {
    return this.#reportRead(id, limit, (verifies) => this.#ledger.reportItems(id, verifies, after, limit, errorsOnly));
  }

  async reportRowErrors(id: string, after: RowErrorCursor, limit: number): Promise<Outcome<ReportPage<ReportRowError, RowErrorCursor>>> {
    return this.#reportRead(id, limit, () => this.#ledger.reportRowErrors(id, after, limit));
  }

  async reportConflicts(id: string, after: number, limit: number): Promise<Outcome<ReportPage<ReportConflict, number>>> {
    return this.#reportRead(id, limit, () => this.#ledger.reportConflicts(id, after, limit));
  }

  /** One report page of job `id` (`read` is told whether its kind only verifies), at most MAX_REPORT_PAGE entries. */
  #reportRead<T>(id: string, limit: number, read: (verifies: boolean) => T): Outcome<T> {
    const job = this.#jobs.get(id);
    if (!job) return notFound(id);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_REPORT_PAGE) return refuse(400, `limit: must be an integer from 1 to ${MAX_REPORT_PAGE}`, "limit");
    return { ok: true, value: read(verifiesOnly(job.kind)) };
  }

  async control(id: string, action: JobAction, actor: string): Promise<Outcome<JobView & { requeued?: number }>> {
    const job = this.#jobs.get(id);
    if (!job) return notFound(id);
    const refusal = this.#refuseControl(job, action);
    if (refusal) return refuse(409, `cannot ${action} job ${id}: ${refusal}`);
    const now = Date.now();
    const requeued = this.ctx.storage.transactionSync(() => {
      const requeued = this.#applyControl(job, action, now);
      const after = this.#jobs.get(id)!;
      this.#audit.add({ actor, action: `job.${action}`, target: id, details: { state: after.state, requeued } }, now);
      return requeued;
    });
    await this.#wakeups.request("job", now);
    await this.#settleChange();
    const view = this.#view(this.#jobs.get(id)!);
    return { ok: true, value: requeued === undefined ? view : { ...view, requeued } };
  }

  /** The newest finished full or delta job, and how far behind legacy its export was (now − exportedAt). */
  async syncStatus(): Promise<SyncStatus> {
    return this.#syncStatus(Date.now());
  }

  #syncStatus(now: number): SyncStatus {
    const job = this.#jobs.lastSync();
    if (!job) return { lastSync: null, lagSeconds: null };
    const exportedAt = job.counters.exportedAt ?? null;
    return {
      lastSync: { jobId: job.id, kind: job.kind, state: job.state, finishedAt: iso(job.finishedAt)!, exportedAt: iso(exportedAt), legacyChanges: job.counters.legacyChanges ?? 0 },
      lagSeconds: exportedAt === null ? null : Math.max(0, Math.round((now - exportedAt) / 1000)),
    };
  }

  // ── reverse sync ───────────────────────────────────────────────────────────────────────────

  /** A completed reverse job's bundle: its range and its part counts per table. Any other job: 404. */
  async reverseBundle(id: string): Promise<Outcome<{ toSeq: number; parts: Record<BundleTable, number> }>> {
    const job = this.#jobs.get(id);
    const bundle = job?.counters.reverse;
    if (!job || !bundle || job.kind !== "reverse") return refuse(404, `no reverse job ${id}`);
    if (job.state !== "completed") return refuse(404, `reverse job ${id} is ${job.state}: its bundle is served once the job is completed`);
    return { ok: true, value: { toSeq: bundle.toSeq, parts: bundle.parts } };
  }

  /** A file of a completed reverse job's bundle (one of its verified items); any other: 404. */
  async reverseFile(id: string, fileId: string): Promise<Outcome<{ r2Key: string; size: number; sha256: string }>> {
    const bundle = await this.reverseBundle(id);
    if (!bundle.ok) return bundle;
    const item = this.#ledger.item(id, fileId);
    if (!item || item.state !== "done") return refuse(404, `file ${fileId} is not in the bundle of job ${id}`);
    const { size, sha256 } = item.payload as { size: number; sha256: string };
    return { ok: true, value: { r2Key: item.r2Key, size, sha256 } };
  }

  /**
   * The operator applied a completed reverse job's bundle to legacy (`toSeq` must be the job's).
   * Records it (appliedSeq: where the next reverse job starts, and what the cutover's hold-back
   * compares with), starts the round trip that marks the shipped rows in D1 as known to legacy
   * (round-trip.ts; bounded steps, the rest on later wake-ups), and tells the cutover, which may
   * release users held back after a rollback. A second call for the same job changes nothing and
   * answers the same.
   */
  async bundleApplied(id: string, toSeq: number, actor: string): Promise<Outcome<AppliedView>> {
    const job = this.#jobs.get(id);
    if (!job) return notFound(id);
    const bundle = job.counters.reverse;
    if (job.kind !== "reverse" || !bundle || job.state !== "completed") return refuse(409, `job ${id} is not a completed reverse job (it is a ${job.state} ${job.kind} job)`);
    if (toSeq !== bundle.toSeq) return refuse(409, `toSeq: job ${id}'s bundle covers the outbox up to ${bundle.toSeq}, not ${toSeq}`, "toSeq");
    const existing = this.#reverse.applied(id);
    if (existing) return { ok: true, value: appliedView(existing) };
    // Applied bundles must leave no gap: the users they release would otherwise have writes legacy never got.
    const appliedSeq = this.#reverse.appliedSeq();
    if (bundle.fromSeq > appliedSeq) return refuse(409, `fromSeq: job ${id}'s bundle starts after change ${bundle.fromSeq}, but only changes up to ${appliedSeq} are applied; changes in between would be skipped`, "fromSeq");
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#reverse.recordApplied(id, toSeq, actor, now);
      this.#audit.add({ actor, action: "job.applied", target: id, details: { fromSeq: bundle.fromSeq, toSeq, counts: bundle.counts } }, now);
    });
    this.#cutover.reverseApplied(toSeq, actor, now);
    await this.#wakeups.runNow("roundtrip");
    await this.#settleChange();
    return { ok: true, value: appliedView(this.#reverse.applied(id)!) };
  }

  /** The "roundtrip" wake-up: one bounded step of the earliest applied bundle's round trip. */
  async #roundTrip(now: number): Promise<number | null> {
    const pending = this.#reverse.pendingRoundTrip();
    if (!pending) return null;
    await roundTripStep(this.env.DB, this.#reverse, pending, now);
    return this.#reverse.pendingRoundTrip() ? now : null;
  }

  // ── import conflicts ───────────────────────────────────────────────────────────────────────

  async listConflicts(state: ConflictState | undefined, limit: number, offset: number): Promise<ConflictView[]> {
    return this.#conflicts.list(state, limit, offset).map(publicView);
  }

  async getConflict(id: number): Promise<Outcome<ConflictView>> {
    const conflict = this.#conflicts.get(id);
    return conflict ? { ok: true, value: publicView(conflict) } : refuse(404, `no conflict ${id}`);
  }

  /** Resolutions one at a time: each checks the conflict is open, changes D1, then records itself. */
  #resolving: Promise<unknown> = Promise.resolve();

  async resolveConflict(id: number, input: ConflictResolution, actor: string): Promise<Outcome<{ conflict: ConflictView; note: string; legacySql?: string }>> {
    const run = this.#resolving.then(() => this.#resolve(id, input, actor));
    this.#resolving = run.catch(() => {});
    return run;
  }

  async #resolve(id: number, input: ConflictResolution, actor: string): Promise<Outcome<{ conflict: ConflictView; note: string; legacySql?: string }>> {
    const conflict = this.#conflicts.get(id);
    if (!conflict) return refuse(404, `no conflict ${id}`);
    if (conflict.state !== "open") return refuse(409, `conflict ${id} is already resolved`);
    const plan = await planResolution(this.env.DB, this.#conflicts, conflict, input);
    if (!plan.ok) return plan;
    const { resolution, rename, legacySql, note } = plan.value;
    const now = Date.now();
    this.ctx.storage.transactionSync(() => {
      this.#conflicts.resolve(id, resolution, now);
      if (rename) this.#conflicts.recordRename(rename.legacyUserId, rename.legacyUsername, rename.username, now);
      this.#audit.add({ actor, action: "conflict.resolve", target: `conflict:${id}`, details: { table: conflict.table, rowKey: conflict.rowKey, field: conflict.field, ...resolution } }, now);
    });
    await this.#settleChange();
    return { ok: true, value: { conflict: publicView(this.#conflicts.get(id)!), note, ...(legacySql ? { legacySql } : {}) } };
  }

  /** Why `action` cannot be applied to `job` now, if it cannot. */
  #refuseControl(job: JobRecord, action: JobAction): string | null {
    const active = job.state === "planning" || job.state === "copying" || job.state === "verifying";
    if (action !== "retry-failed") return active ? null : `it is ${job.state}`;
    if (job.state !== "completed_with_failures") return `it is ${job.state}, not completed_with_failures`;
    const other = this.#jobs.active();
    return other ? `job ${other.id} is ${other.state}` : null;
  }

  /** Applies `action`; for retry-failed, returns how many items went back to pending. */
  #applyControl(job: JobRecord, action: JobAction, now: number): number | undefined {
    switch (action) {
      case "pause":
      case "resume":
        this.#jobs.update(job.id, { paused: action === "pause" }, now);
        return undefined;
      case "cancel":
        this.#jobs.update(job.id, { state: "cancelled", finishedAt: now }, now);
        return undefined;
      case "retry-failed": {
        const requeued = this.#ledger.requeueFailed(job.id);
        this.#jobs.update(job.id, { state: verifiesOnly(job.kind) ? "verifying" : "copying", paused: false, finishedAt: null, plan: { step: "done" } }, now);
        return requeued;
      }
    }
  }

  /** Results from the copy consumer. Idempotent: a report for a finished item changes nothing. */
  async receiveReports(reports: ItemReport[]): Promise<{ applied: number }> {
    const now = Date.now();
    let applied = 0;
    const byJob = new Map<string, ItemReport[]>();
    for (const report of reports) {
      const ofJob = byJob.get(report.jobId);
      if (ofJob) ofJob.push(report);
      else byJob.set(report.jobId, [report]);
    }
    for (const [jobId, ofJob] of byJob) {
      const settings = this.#jobs.get(jobId)?.settings;
      if (settings) applied += this.#ledger.applyAll(jobId, ofJob, now, settings);
    }
    // Refill the in-flight window now rather than at the next alarm.
    const job = this.#jobs.active();
    if (job && applied > 0 && this.#isDispatching(job)) {
      const wake = await this.#pump(job, now);
      if (wake !== null) await this.#wakeups.request("job", wake);
      // The last reports may have ended the job: its alert (and audit) should not wait for the next check.
      if (this.#jobs.get(job.id)?.state !== job.state) await this.#settleChange();
    }
    return { applied };
  }

  // ── wake-ups ───────────────────────────────────────────────────────────────────────────────

  override async alarm(): Promise<void> {
    await this.#wakeups.alarm();
    // The analysis may have advanced the plan or rolled back.
    await this.#settleChange();
  }

  /**
   * After a change: its audit entries go to D1 (or are scheduled, if D1 fails), and a cutover change
   * has reached the relays (or the wait ran out) before the call that made it returns.
   */
  async #settleChange(): Promise<void> {
    await this.#relays.settled();
    if (this.#audit.pending() > 0) await this.#wakeups.runNow("audit");
    if (this.#alertInputsNow() !== this.#alertInputs) await this.#wakeups.request("alerts", Date.now());
  }

  /** The "job" wake-up: one bounded step of the active job. */
  async #jobWake(now: number): Promise<number | null> {
    const job = this.#jobs.active();
    if (!job) return null;
    const wake = await this.#jobStep(job, now);
    this.#recordStep(job.id, job.state, Date.now() - now);
    return wake;
  }

  /** A step threw (a D1 or R2 hiccup): try again shortly, and fail the job after MAX_STEP_FAILURES in a row. */
  #jobStepFailed(error: unknown, failures: number, now: number): number | null {
    const job = this.#jobs.active();
    console.error(`job ${job?.id ?? "(none active)"}: step failed (${failures}/${MAX_STEP_FAILURES}):`, error);
    if (!job) return null;
    if (failures < MAX_STEP_FAILURES) return now + STEP_RETRY_MS;
    const message = error instanceof Error ? error.message : String(error);
    this.#jobs.update(job.id, { state: "failed", error: `step failed ${MAX_STEP_FAILURES} times in a row: ${message}`, finishedAt: now }, now);
    return null;
  }

  /** One bounded step of the job; returns when it wants to run again. */
  async #jobStep(job: JobRecord, now: number): Promise<number | null> {
    if (job.state === "planning") {
      const step = await planStep({ env: this.env, ledger: this.#ledger, conflicts: this.#conflicts, reverse: this.#reverse, job });
      if (!step.ok) {
        this.#jobs.update(job.id, { state: "failed", error: step.error, finishedAt: now }, now);
        return null;
      }
      const planned = step.plan.step === "done";
      const next = verifiesOnly(job.kind) ? "verifying" : "copying";
      const counters = planned ? { ...step.counters, plannedAt: Date.now() } : step.counters;
      this.#jobs.update(job.id, { plan: step.plan, counters, ...(planned ? { state: next } : {}) }, now);
      return now;
    }
    if (this.#isDispatching(job)) return this.#pump(job, now);
    return this.#reconcile(job, now);
  }

  #isDispatching(job: JobRecord): boolean {
    return job.state === "copying" || (job.state === "verifying" && verifiesOnly(job.kind));
  }

  /** Expire dead leases, dispatch within window and rate, and move on when nothing is open. */
  async #pump(job: JobRecord, now: number): Promise<number | null> {
    this.#ledger.expireLeases(job.id, now, job.settings);
    const { retryAt, more } = job.paused ? { retryAt: null, more: false } : await this.#dispatcher.dispatch(job, now);
    if (!this.#ledger.hasOpen(job.id)) {
      if (job.state === "copying") {
        this.#jobs.update(job.id, { state: "verifying", plan: { step: "reconcile", afterFileId: "" } }, now);
        return now;
      }
      this.#complete(job, now);
      return null;
    }
    if (more) return now;
    const { leaseUntil, readyAt } = this.#ledger.deadlines(job.id);
    const windowFull = this.#ledger.leasedCount(job.id) >= job.settings.maxInFlight;
    let wake = leaseUntil ?? Infinity;
    if (!job.paused && !windowFull && readyAt !== null) {
      wake = Math.min(wake, readyAt <= now ? (retryAt ?? now + MIN_WAKE_MS) : readyAt);
    }
    return Math.min(wake, now + HEARTBEAT_MS);
  }

  /** After copying: every done item must match its D1 row (size and checksum), a page per step. */
  async #reconcile(job: JobRecord, now: number): Promise<number | null> {
    const after = job.plan.step === "reconcile" ? job.plan.afterFileId : "";
    const done = this.#ledger.doneAfter(job.id, after, RECONCILE_PAGE);
    if (done.length === 0) {
      this.#complete(job, now);
      return null;
    }
    const rows = await existingFileChecksums(this.env.DB, done.map((d) => d.fileId));
    // A file the new app deleted after its copy has no row, and must not have one.
    const missing = done.filter((d) => !rows.has(d.fileId)).map((d) => d.fileId);
    const deleted = missing.length > 0 ? await tombstonedIds(this.env.DB, "files", missing) : new Set<string>();
    for (const item of done) {
      const row = rows.get(item.fileId);
      if (!row) {
        if (!deleted.has(item.fileId)) this.#ledger.markFailed(job.id, item.fileId, "d1_mismatch", "no files row in D1 after copy");
      } else if (row.size !== item.bytes || row.checksum !== item.sha256) {
        this.#ledger.markFailed(job.id, item.fileId, "d1_mismatch", `D1 has ${row.size} bytes/${row.checksum}, copy had ${item.bytes}/${item.sha256}`);
      }
    }
    this.#jobs.update(job.id, { plan: { step: "reconcile", afterFileId: done.at(-1)!.fileId } }, now);
    return now;
  }

  /** Counts a step of the job, by the state it started in (planning, copying, verifying…), in the histogram of STEP_BOUNDS_MS. */
  #recordStep(jobId: string, state: string, ms: number): void {
    const job = this.#jobs.get(jobId);
    if (!job) return;
    const { counters } = job;
    const bucket = STEP_BOUNDS_MS.findIndex((bound) => ms <= bound);
    const count = (histogram: readonly number[] | undefined) => {
      const next = histogram?.slice() ?? new Array<number>(STEP_BOUNDS_MS.length + 1).fill(0);
      next[bucket === -1 ? STEP_BOUNDS_MS.length : bucket]!++;
      return next;
    };
    const stepsByState = { ...counters.stepsByState, [state]: { histogram: count(counters.stepsByState?.[state]?.histogram), maxMs: Math.max(counters.stepsByState?.[state]?.maxMs ?? 0, ms) } };
    this.#jobs.update(jobId, { counters: { ...counters, steps: (counters.steps ?? 0) + 1, maxStepMs: Math.max(counters.maxStepMs ?? 0, ms), stepHistogram: count(counters.stepHistogram), stepsByState } }, Date.now());
  }

  #complete(job: JobRecord, now: number): void {
    const failed = this.#ledger.counts(job.id).failed + this.#ledger.rowErrorCount(job.id) + this.#conflicts.counts(job.id).open;
    this.#jobs.update(job.id, { state: failed > 0 ? "completed_with_failures" : "completed", plan: { step: "done" }, finishedAt: now }, now);
  }

  #view(job: JobRecord): JobView {
    const counts = this.#ledger.counts(job.id);
    const end = job.finishedAt ?? Date.now();
    const seconds = Math.max(0.001, (end - (job.startedAt ?? job.createdAt)) / 1000);
    const filesPerSecond = counts.done / seconds;
    const open = counts.pending + counts.leased;
    return {
      id: job.id,
      kind: job.kind,
      state: job.state,
      paused: job.paused,
      exportSet: job.exportSet,
      settings: job.settings,
      error: job.error,
      items: { total: counts.total, pending: counts.pending, leased: counts.leased, done: counts.done, failed: counts.failed },
      bytes: { total: counts.bytesKnown, done: counts.bytesDone },
      users: { migrated: job.counters.usersMigrated },
      filters: { migrated: job.counters.filtersMigrated },
      rowErrors: this.#ledger.rowErrorCount(job.id),
      conflicts: this.#conflicts.counts(job.id),
      legacyChanges: job.counters.legacyChanges ?? 0,
      deletedOnNew: { files: job.counters.filesDeletedOnNew ?? 0, filters: job.counters.filtersDeletedOnNew ?? 0 },
      exportedAt: iso(job.counters.exportedAt ?? null),
      steps: { count: job.counters.steps ?? 0, maxMs: job.counters.maxStepMs ?? 0, planningMs: job.counters.plannedAt ? job.counters.plannedAt - job.createdAt : null, atMostMs: stepsAtMost(job.counters.stepHistogram), byState: Object.fromEntries(Object.entries(job.counters.stepsByState ?? {}).map(([state, { histogram, maxMs }]) => [state, { maxMs, atMostMs: stepsAtMost(histogram) }])) },
      throughput: { filesPerSecond: round(filesPerSecond), bytesPerSecond: Math.round(counts.bytesDone / seconds) },
      eta: job.finishedAt || open === 0 ? 0 : filesPerSecond > 0 ? Math.ceil(open / filesPerSecond) : null,
      createdAt: iso(job.createdAt)!,
      startedAt: iso(job.startedAt),
      finishedAt: iso(job.finishedAt),
      ...(job.counters.reverse ? this.#reverseView(job.id, job.counters.reverse) : {}),
    };
  }

  #reverseView(jobId: string, bundle: NonNullable<JobRecord["counters"]["reverse"]>): Partial<JobView> {
    const applied = this.#reverse.applied(jobId);
    return {
      fromSeq: bundle.fromSeq,
      toSeq: bundle.toSeq,
      counts: bundle.counts,
      appliedAt: iso(applied?.appliedAt ?? null),
      appliedToSeq: applied?.toSeq ?? null,
      roundTrip: applied ? { marked: applied.marked, done: applied.markedAt !== null } : null,
    };
  }
}

export interface AppliedView {
  jobId: string;
  toSeq: number;
  appliedAt: string;
  appliedBy: string;
}

function appliedView(applied: AppliedRecord): AppliedView {
  return { jobId: applied.jobId, toSeq: applied.toSeq, appliedAt: iso(applied.appliedAt)!, appliedBy: applied.actor };
}

function notFound(id: string): Outcome<never> {
  return refuse(404, `no job ${id}`);
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Steps that took at most each bound, cumulative ("5": n, …, "1000": n, "+Inf": all). */
function stepsAtMost(histogram: readonly number[] = []): Record<string, number> {
  let seen = 0;
  const out: Record<string, number> = {};
  [...STEP_BOUNDS_MS, "+Inf"].forEach((bound, i) => (out[String(bound)] = seen += histogram[i] ?? 0));
  return out;
}
