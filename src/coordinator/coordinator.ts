import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import type { ItemReport } from "../copy/messages";
import { exportObjectKey, REQUIRED_TABLES } from "../legacy/export-contract";
import type { BackendSample } from "../cutover/metrics-model";
import type { CutoverPatch, CutoverState, PatchOutcome } from "../cutover/state";
import { CutoverControl } from "./cutover-control";
import { existingFileChecksums } from "./reconcile";
import { Dispatcher } from "./dispatcher";
import { JobStore, type JobRecord } from "./jobs";
import { Ledger } from "./ledger";
import { jobSettingsSchema, type CreateJobInput, type Failure, type JobView, type Outcome } from "./model";
import { initialPlan, planStep, RECONCILE_PAGE } from "./planner";
import { COORDINATOR_SCHEMA } from "./schema";

export type JobAction = "pause" | "resume" | "cancel" | "retry-failed";

/** However quiet a job is, the alarm checks on it at least this often. */
const HEARTBEAT_MS = 30_000;
/** While dispatch waits only for rate tokens, never wake sooner than this. */
const MIN_WAKE_MS = 20;
/** A step that throws (a D1 or R2 hiccup) is tried again after this, and the job fails after this many in a row. */
const STEP_RETRY_MS = 5_000;
const MAX_STEP_FAILURES = 10;

/**
 * Owns every migration job: its state machine, the per-item ledger in SQLite, and the alarm that
 * plans, dispatches, expires leases and finishes. All state is in storage, so a wake-up after an
 * eviction or a redeploy resumes exactly where the ledger says.
 */
export class MigrationCoordinator extends DurableObject<Env> {
  readonly #jobs: JobStore;
  readonly #ledger: Ledger;
  readonly #dispatcher: Dispatcher;
  readonly #cutover: CutoverControl;
  #stepFailures = 0;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(COORDINATOR_SCHEMA);
    this.#jobs = new JobStore(ctx.storage.sql);
    this.#ledger = new Ledger(ctx.storage.sql);
    this.#dispatcher = new Dispatcher(this.#ledger, env.COPY_QUEUE);
    this.#cutover = new CutoverControl(ctx.storage.sql, env);
  }

  // ── cutover ────────────────────────────────────────────────────────────────────────────────

  /** Cutover state reads since this instance started: what the gates' caches cost it (bench:gate reports it). */
  #stateReads = 0;

  /** The cutover state, as the gates cache it. */
  async getCutover(): Promise<CutoverState> {
    this.#stateReads++;
    return this.#cutover.state();
  }

  async stateReads(): Promise<number> {
    return this.#stateReads;
  }

  async updateCutover(patch: CutoverPatch, actor: string): Promise<PatchOutcome> {
    const outcome = await this.#cutover.update(patch, actor, Date.now());
    if (outcome.ok) await this.#schedule(await this.#cutover.evaluate(Date.now()));
    return outcome;
  }

  async rollbackCutover(actor: string, reason: string): Promise<Outcome<CutoverState>> {
    try {
      return { ok: true, value: await this.#cutover.rollback(actor, reason, null, Date.now()) };
    } catch (e) {
      return { ok: false, status: 409, error: (e as Error).message, field: "phase" };
    }
  }

  /** A batch of request metrics from one gate's isolate. */
  async recordMetrics(samples: BackendSample[]): Promise<void> {
    await this.#cutover.record(samples, Date.now());
  }

  async metrics(windowSeconds: number) {
    return this.#cutover.report(windowSeconds, Date.now());
  }

  // ── migration jobs ─────────────────────────────────────────────────────────────────────────

  async createJob(input: CreateJobInput): Promise<Outcome<JobView>> {
    const active = this.#jobs.active();
    if (active) return { ok: false, status: 409, error: `job ${active.id} is still ${active.state}; pause or cancel it first` };
    if (input.kind !== "verify") {
      for (const table of REQUIRED_TABLES) {
        if (!(await this.env.FILES.head(exportObjectKey(input.exportSet!, table)))) {
          return { ok: false, status: 400, field: "exportSet", error: `export set '${input.exportSet}' has no ${table}.csv` };
        }
      }
    }
    const job = this.#jobs.create(
      {
        id: crypto.randomUUID(),
        kind: input.kind,
        exportSet: input.exportSet ?? null,
        settings: jobSettingsSchema.parse(input.settings ?? {}),
        plan: initialPlan(input.kind),
      },
      Date.now(),
    );
    await this.#schedule(Date.now());
    return { ok: true, value: this.#view(job) };
  }

  async listJobs(limit = 50): Promise<JobView[]> {
    return this.#jobs.list(limit).map((job) => this.#view(job));
  }

  async getJob(id: string): Promise<Outcome<JobView>> {
    const job = this.#jobs.get(id);
    return job ? { ok: true, value: this.#view(job) } : notFound(id);
  }

  async failures(id: string, limit: number, offset: number): Promise<Outcome<Failure[]>> {
    return this.#jobs.get(id) ? { ok: true, value: this.#ledger.failures(id, limit, offset) } : notFound(id);
  }

  async control(id: string, action: JobAction): Promise<Outcome<JobView & { requeued?: number }>> {
    const job = this.#jobs.get(id);
    if (!job) return notFound(id);
    const now = Date.now();
    const active = job.state === "planning" || job.state === "copying" || job.state === "verifying";
    const refuse = (why: string): Outcome<never> => ({ ok: false, status: 409, error: `cannot ${action} job ${id}: ${why}` });
    switch (action) {
      case "pause":
      case "resume":
        if (!active) return refuse(`it is ${job.state}`);
        this.#jobs.update(id, { paused: action === "pause" }, now);
        break;
      case "cancel":
        if (!active) return refuse(`it is ${job.state}`);
        this.#jobs.update(id, { state: "cancelled", finishedAt: now }, now);
        break;
      case "retry-failed": {
        if (job.state !== "completed_with_failures") return refuse(`it is ${job.state}, not completed_with_failures`);
        const other = this.#jobs.active();
        if (other) return refuse(`job ${other.id} is ${other.state}`);
        const { requeued } = this.#ledger.requeueFailed(id);
        this.#jobs.update(id, { state: job.kind === "verify" ? "verifying" : "copying", paused: false, finishedAt: null, plan: { step: "done" } }, now);
        await this.#schedule(now);
        return { ok: true, value: { ...this.#view(this.#jobs.get(id)!), requeued } };
      }
    }
    await this.#schedule(now);
    return { ok: true, value: this.#view(this.#jobs.get(id)!) };
  }

  /** Results from the copy consumer. Idempotent: a report for a finished item changes nothing. */
  async report(reports: ItemReport[]): Promise<{ applied: number }> {
    const now = Date.now();
    let applied = 0;
    const settings = new Map<string, JobRecord["settings"] | null>();
    for (const report of reports) {
      if (!settings.has(report.jobId)) settings.set(report.jobId, this.#jobs.get(report.jobId)?.settings ?? null);
      const jobSettings = settings.get(report.jobId);
      if (jobSettings && this.#ledger.apply(report, now, jobSettings)) applied++;
    }
    // Refill the in-flight window now rather than at the next alarm.
    const job = this.#jobs.active();
    if (job && applied > 0 && this.#isDispatching(job)) await this.#schedule(await this.#pump(job, now));
    return { applied };
  }

  /** The heartbeat: one bounded step of the active job, and the cutover analysis. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const wakes = [await this.#jobHeartbeat(now), await this.#cutover.evaluate(now)].filter((w): w is number => w !== null);
    if (wakes.length > 0) await this.#schedule(Math.min(...wakes));
  }

  async #jobHeartbeat(now: number): Promise<number | null> {
    const job = this.#jobs.active();
    if (!job) return null;
    try {
      const wake = await this.#advance(job, now);
      this.#stepFailures = 0;
      this.#recordStep(job.id, Date.now() - now);
      return wake;
    } catch (e) {
      // A throwing alarm is retried by the runtime only a few times; keep the heartbeat ourselves.
      const message = e instanceof Error ? e.message : String(e);
      console.error(`job ${job.id}: step failed (${this.#stepFailures + 1}/${MAX_STEP_FAILURES}):`, e);
      if (++this.#stepFailures >= MAX_STEP_FAILURES) {
        this.#jobs.update(job.id, { state: "failed", error: `step failed ${MAX_STEP_FAILURES} times in a row: ${message}`, finishedAt: Date.now() }, Date.now());
        this.#stepFailures = 0;
        return null;
      }
      return Date.now() + STEP_RETRY_MS;
    }
  }

  /** One bounded step of the job; returns when it wants to run again. */
  async #advance(job: JobRecord, now: number): Promise<number | null> {
    if (job.state === "planning") {
      const step = await planStep({ env: this.env, ledger: this.#ledger, job });
      if (!step.ok) {
        this.#jobs.update(job.id, { state: "failed", error: step.error, finishedAt: now }, now);
        return null;
      }
      const planned = step.plan.step === "done";
      const next = job.kind === "verify" ? "verifying" : "copying";
      const counters = planned ? { ...step.counters, plannedAt: Date.now() } : step.counters;
      this.#jobs.update(job.id, { plan: step.plan, counters, ...(planned ? { state: next } : {}) }, now);
      return now;
    }
    if (this.#isDispatching(job)) return this.#pump(job, now);
    return this.#reconcile(job, now);
  }

  #isDispatching(job: JobRecord): boolean {
    return job.state === "copying" || (job.state === "verifying" && job.kind === "verify");
  }

  /** Expire dead leases, dispatch within window and rate, and move on when nothing is open. */
  async #pump(job: JobRecord, now: number): Promise<number | null> {
    this.#ledger.expireLeases(job.id, now, job.settings);
    const { retryAt } = job.paused ? { retryAt: null } : await this.#dispatcher.dispatch(job, now);
    if (!this.#ledger.hasOpen(job.id)) {
      if (job.state === "copying") {
        this.#jobs.update(job.id, { state: "verifying", plan: { step: "reconcile", afterFileId: "" } }, now);
        return now;
      }
      this.#complete(job, now);
      return null;
    }
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
    for (const item of done) {
      const row = rows.get(item.fileId);
      if (!row) this.#ledger.markFailed(job.id, item.fileId, "d1_mismatch", "no files row in D1 after copy");
      else if (row.size !== item.bytes || row.checksum !== item.sha256) {
        this.#ledger.markFailed(job.id, item.fileId, "d1_mismatch", `D1 has ${row.size} bytes/${row.checksum}, copy had ${item.bytes}/${item.sha256}`);
      }
    }
    this.#jobs.update(job.id, { plan: { step: "reconcile", afterFileId: done.at(-1)!.fileId } }, now);
    return now;
  }

  #recordStep(jobId: string, ms: number): void {
    const job = this.#jobs.get(jobId);
    if (!job) return;
    const { counters } = job;
    this.#jobs.update(jobId, { counters: { ...counters, steps: (counters.steps ?? 0) + 1, maxStepMs: Math.max(counters.maxStepMs ?? 0, ms) } }, Date.now());
  }

  #complete(job: JobRecord, now: number): void {
    const failed = this.#ledger.counts(job.id).failed + this.#ledger.rowErrorCount(job.id);
    this.#jobs.update(job.id, { state: failed > 0 ? "completed_with_failures" : "completed", plan: { step: "done" }, finishedAt: now }, now);
  }

  async #schedule(at: number | null): Promise<void> {
    if (at === null) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || at < current) await this.ctx.storage.setAlarm(Math.max(at, Date.now()));
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
      steps: { count: job.counters.steps ?? 0, maxMs: job.counters.maxStepMs ?? 0, planningMs: job.counters.plannedAt ? job.counters.plannedAt - job.createdAt : null },
      throughput: { filesPerSecond: round(filesPerSecond), bytesPerSecond: Math.round(counts.bytesDone / seconds) },
      eta: job.finishedAt || open === 0 ? 0 : filesPerSecond > 0 ? Math.ceil(open / filesPerSecond) : null,
      createdAt: iso(job.createdAt)!,
      startedAt: iso(job.startedAt),
      finishedAt: iso(job.finishedAt),
    };
  }
}

function notFound(id: string): Outcome<never> {
  return { ok: false, status: 404, error: `no job ${id}` };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
