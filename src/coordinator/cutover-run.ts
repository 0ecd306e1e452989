import type { CutoverPatch } from "../cutover/patch-schema";
import type { CutoverState } from "../cutover/state";
import { REQUIRED_TABLES } from "../legacy/export-contract";
import { logEvent } from "../lib/log-event";
import { refuse, type Outcome } from "../lib/outcome";
import { FINISHED_RUN_STATES, STAGE_RULES, STAGES, type RunControl, type RunPlan, type RunRecord, type StageRecord } from "./cutover-run-model";
import type { RunStore, ExportUploads } from "./cutover-runs";
import type { CreateJobInput, JobView } from "./model";

/** While a run is running, it looks at its stage this often. */
export const RUN_TICK_MS = 2_000;
/** Stages a single wake-up may pass through (most end at once: maintenance, switch…). */
const STAGES_PER_WAKE = STAGES.length;

/** What the run drives: the coordinator's jobs, its cutover control, the validation suite. */
export interface RunDeps {
  cutover(): CutoverState;
  updateCutover(patch: CutoverPatch, actor: string, now: number): Outcome<CutoverState>;
  /** Back to legacy with maintenance off, holding back users whose writes legacy lacks. */
  rollback(actor: string, reason: string, evidence: unknown, now: number): Outcome<CutoverState>;
  /** Stops (true) or restarts (false) the canary plan's walk; the analysis still rolls back. */
  holdPlan(held: boolean, actor: string, now: number): void;
  createJob(input: CreateJobInput, actor: string): Promise<Outcome<JobView>>;
  job(id: string): JobView | null;
  /** The newest job `actor` created since `since` with this kind and export set, other than `known`. */
  jobCreatedBy(actor: string, input: CreateJobInput, since: number, known: readonly string[]): JobView | null;
  controlJob(id: string, action: "pause" | "resume" | "cancel", actor: string): Promise<unknown>;
  /** The oldest-table upload time of the newest finished sync's export, or null. */
  lastSyncExportedAt(): number | null;
  validate(sample: number, exportSet: string | null): Promise<{ ok: boolean; checks: { name: string; ok: boolean }[] }>;
  audit(actor: string, action: string, details: Record<string, unknown>, now: number): void;
}

type Check = { kind: "wait"; for: string } | { kind: "done"; note?: string } | { kind: "fail"; reason: string } | { kind: "rolled_back"; reason: string };

/**
 * The stage machine of a cutover run. Every step reads the run from storage and writes it back, so a
 * wake-up after an eviction or a redeploy resumes the stage where it was: a stage's entry actions
 * are idempotent (a job is started only if the stage has none running) and its exit is re-checked.
 */
export class CutoverRun {
  /** Steps and operator controls one at a time: each reads the run, awaits jobs and D1, and writes it back. */
  #turn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly runs: RunStore,
    private readonly uploads: ExportUploads,
    private readonly deps: RunDeps,
  ) {}

  start(plan: RunPlan, actor: string, now: number): Outcome<RunRecord> {
    const open = this.runs.unfinished();
    if (open) return refuse(409, `cutover run ${open.id} is ${open.state}; abort it first`);
    const { phase, maintenance } = this.deps.cutover();
    if (phase !== "legacy" && phase !== "rolled_back") return refuse(409, `the cutover is in phase ${phase}; a run starts from legacy or rolled_back`, "phase");
    if (maintenance.enabled) return refuse(409, "maintenance is on; switch it off first (PATCH /admin/cutover {\"maintenance\": {\"enabled\": false}})", "maintenance");
    const run: RunRecord = {
      id: crypto.randomUUID(),
      state: "running",
      plan,
      stages: STAGES.map((name) => ({ name, state: "pending", startedAt: null, endedAt: null, jobIds: [], note: null, waitingFor: null })),
      attention: null,
      validation: null,
      createdAt: now,
      updatedAt: now,
      finishedAt: null,
      actor,
    };
    this.runs.save(run);
    this.deps.audit(actor, "cutover.run.start", { run: run.id, plan }, now);
    logEvent("cutover.run.start", { run: run.id, actor });
    return { ok: true, value: run };
  }

  /** One wake-up: walks the running run's stages as far as they go now; returns when to look again. */
  step(wokeAt: number): Promise<number | null> {
    return this.#exclusive(() => this.#step(wokeAt));
  }

  /** Pause, resume, skip the stage in force, or abort (a rollback). */
  control(input: RunControl, actor: string, now: number): Promise<Outcome<RunRecord>> {
    return this.#exclusive(() => this.#control(input, actor, now));
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#turn.then(work);
    this.#turn = run.catch(() => {});
    return run;
  }

  async #step(wokeAt: number): Promise<number | null> {
    let now = wokeAt;
    for (let i = 0; i < STAGES_PER_WAKE; i++, now = Date.now()) {
      const run = this.runs.unfinished();
      if (!run) return null;
      if (run.state === "paused") return null;
      const stage = current(run);
      if (!stage) {
        this.#finish(run, "completed", null, now);
        return null;
      }
      const entry = stage.state === "pending" ? this.#enter(run, stage, now) : null;
      const check = entry ?? this.#timedOut(run, stage, now) ?? (await this.#check(run, stage, now));
      if (check.kind === "wait") {
        if (stage.waitingFor !== check.for) {
          stage.waitingFor = check.for;
          this.#save(run, now);
        }
        return now + RUN_TICK_MS;
      }
      now = Date.now();
      if (check.kind === "done") this.#endStage(run, stage, "done", check.note ?? null, now);
      else if (check.kind === "rolled_back") {
        // A rollback from outside the run (an operator's, in maintenance) may have left maintenance on.
        this.#backToLegacy(`run:${run.id}`, check.reason, run, now);
        this.#endStage(run, stage, "failed", check.reason, now);
        this.#finish(run, "rolled_back", check.reason, now);
        return null;
      } else {
        await this.#fail(run, stage, check.reason, now);
        if (this.runs.unfinished()?.state !== "running") return null;
      }
    }
    return now;
  }

  async #control(input: RunControl, actor: string, now: number): Promise<Outcome<RunRecord>> {
    const run = this.runs.unfinished();
    if (!run) return refuse(409, "no cutover run is running or paused");
    const stage = current(run);
    switch (input.action) {
      case "pause":
        if (run.state === "paused") return refuse(409, `run ${run.id} is already paused`);
        await this.#pause(run, stage, input.reason ?? "paused by the operator", actor, now);
        return { ok: true, value: run };
      case "resume": {
        if (run.state !== "paused") return refuse(409, `run ${run.id} is ${run.state}, not paused`);
        // Resuming accepts the outcome of the stage's ended job: its failures stand (a failed or cancelled one is started again).
        const job = stage ? this.#latestJob(stage) : null;
        if (stage && job && !isActive(job) && job.state !== "completed") stage.acceptedJobId = job.id;
        if (job?.paused) await this.deps.controlJob(job.id, "resume", actor);
        if (stage?.name === "canary") this.deps.holdPlan(false, actor, now);
        // The stage's timeout counts again from the resume, or a stage paused on its timeout would pause again at once.
        if (stage) stage.timerFrom = now;
        run.state = "running";
        run.attention = null;
        this.#save(run, now);
        this.deps.audit(actor, "cutover.run.resume", { run: run.id, stage: stage?.name ?? null, acceptedJob: stage?.acceptedJobId ?? null }, now);
        return { ok: true, value: run };
      }
      case "skip": {
        if (!stage || stage.name !== input.stage) return refuse(409, `stage: the run is at ${stage?.name ?? "its end"}, not ${input.stage}`, "stage");
        await this.#cancelJob(stage, actor);
        if (stage.name === "canary" && this.deps.cutover().plan) this.deps.updateCutover({ plan: null }, actor, now);
        if (stage.state === "pending") stage.startedAt = now;
        this.#endStage(run, stage, "skipped", input.reason, now);
        this.deps.audit(actor, "cutover.run.skip", { run: run.id, stage: stage.name, reason: input.reason }, now);
        return { ok: true, value: run };
      }
      case "abort": {
        const reason = input.reason ?? "aborted by the operator";
        if (this.deps.cutover().phase === "complete") return refuse(409, "the cutover is complete; there is no legacy side to go back to", "phase");
        if (stage) {
          await this.#cancelJob(stage, actor);
          this.#endStage(run, stage, "failed", `aborted: ${reason}`, now);
        }
        this.#backToLegacy(actor, reason, run, now);
        this.#finish(run, "aborted", reason, now, actor);
        return { ok: true, value: run };
      }
    }
  }

  /**
   * Marks the stage running, with its one non-idempotent entry action (the canary's plan, which a
   * second setting would restart) in the same synchronous turn, so that both are stored or neither.
   */
  #enter(run: RunRecord, stage: StageRecord, now: number): Check | null {
    stage.state = "running";
    stage.startedAt = now;
    let entry: Check | null = null;
    if (stage.name === "canary") {
      const { steps, holdSeconds, maxSyncLagSeconds } = run.plan.canary;
      const patch: CutoverPatch = { plan: { steps, holdSeconds, ...(maxSyncLagSeconds ? { maxSyncLagSeconds } : {}) }, ...(run.plan.thresholds ? { thresholds: run.plan.thresholds } : {}) };
      const set = this.#patch(patch, `run:${run.id}`, now, `plan set: ${steps.join(" → ")} %, ${holdSeconds} s each`);
      if (set.kind === "fail") entry = set;
      else stage.note = set.kind === "done" ? (set.note ?? null) : null;
    }
    this.#save(run, now);
    logEvent("cutover.run.stage", { run: run.id, stage: stage.name, state: "running" });
    return entry;
  }

  /** Whether the stage is done, failed or still waiting (and for what). */
  async #check(run: RunRecord, stage: StageRecord, now: number): Promise<Check> {
    const actor = `run:${run.id}`;
    const { plan } = run;
    switch (stage.name) {
      case "copy":
        return this.#jobStage(run, stage, { kind: "full", exportSet: plan.exportSet, settings: plan.jobSettings });
      case "canary":
        return this.#canary(run, stage, now);
      case "maintenance":
        return this.#patch({ maintenance: { enabled: true } }, actor, now, "maintenance on");
      case "final_delta": {
        const rolled = this.#rolledBack();
        if (rolled) return rolled;
        if (!stage.exportSet) {
          const maintenanceAt = run.stages.find((s) => s.name === "maintenance")?.startedAt ?? stage.startedAt!;
          const fresh = this.uploads.newestComplete(REQUIRED_TABLES, maintenanceAt);
          if (!fresh) return { kind: "wait", for: `an export set with ${REQUIRED_TABLES.join(".csv and ")}.csv, every table of it uploaded after maintenance began (${iso(maintenanceAt)}): PUT /admin/exports/<set>/<table>` };
          stage.exportSet = fresh.set;
          this.#save(run, now);
        }
        return this.#jobStage(run, stage, { kind: "delta", exportSet: stage.exportSet, settings: plan.jobSettings });
      }
      case "verify":
        return this.#rolledBack() ?? this.#jobStage(run, stage, { kind: "verify", settings: plan.jobSettings });
      case "validate": {
        const rolled = this.#rolledBack();
        if (rolled) return rolled;
        const exportSet = run.stages.find((s) => s.name === "final_delta")?.exportSet ?? plan.exportSet;
        const report = await this.deps.validate(plan.validation.sample, exportSet);
        run.validation = report;
        this.#save(run, now);
        if (report.ok) return { kind: "done", note: `${report.checks.length} checks passed` };
        return { kind: "fail", reason: `validation failed: ${report.checks.filter((c) => !c.ok).map((c) => c.name).join(", ")}` };
      }
      case "switch":
        return this.#rolledBack() ?? this.#patch({ percent: 100 }, actor, now, "percent 100 (in maintenance)");
      case "maintenance_off":
        return this.#rolledBack() ?? this.#patch({ maintenance: { enabled: false } }, actor, now, "maintenance off: phase cutover");
      case "watch": {
        const rolled = this.#rolledBack();
        if (rolled) return rolled;
        const ends = stage.startedAt! + plan.watchSeconds * 1000;
        if (now < ends) return { kind: "wait", for: `the watch period: the new app serves everyone, watched, until ${iso(ends)}` };
        return this.#patch({ phase: "complete" }, actor, now, "cutover complete");
      }
    }
  }

  /** A stage that is one job: started if the stage has none (or its last one failed or was cancelled), done when it completes. */
  async #jobStage(run: RunRecord, stage: StageRecord, input: CreateJobInput): Promise<Check> {
    const job = this.#latestJob(stage);
    if (job && isActive(job)) return { kind: "wait", for: `${job.kind} job ${job.id} (${job.state}${job.paused ? ", paused" : ""})` };
    if (job?.state === "completed") return { kind: "done", note: `${job.kind} job ${job.id} completed` };
    if (job?.state === "completed_with_failures") {
      if (stage.acceptedJobId === job.id) return { kind: "done", note: `${job.kind} job ${job.id} completed with failures, accepted by the operator` };
      return { kind: "fail", reason: jobFailure(job) };
    }
    // The last job failed or was cancelled: a new one starts only once the operator resumed the run.
    if (job && stage.acceptedJobId !== job.id) return { kind: "fail", reason: jobFailure(job) };
    // A job this stage created before a restart cut the step short (its id never stored): adopted, not started again.
    const orphan = this.deps.jobCreatedBy(`run:${run.id}`, input, stage.timerFrom ?? stage.startedAt!, stage.jobIds);
    if (orphan) {
      stage.jobIds.push(orphan.id);
      this.#save(run, Date.now());
      return { kind: "wait", for: `${orphan.kind} job ${orphan.id} (${orphan.state})` };
    }
    const created = await this.deps.createJob(input, `run:${run.id}`);
    if (!created.ok) return { kind: "fail", reason: `could not start the ${input.kind} job: ${created.error}` };
    stage.jobIds.push(created.value.id);
    this.#save(run, Date.now());
    return { kind: "wait", for: `${input.kind} job ${created.value.id}: planning` };
  }

  /** The canary: the plan is walked by the analysis (CutoverControl); deltas keep the new side fresh. */
  async #canary(run: RunRecord, stage: StageRecord, now: number): Promise<Check> {
    const state = this.deps.cutover();
    if (state.phase === "rolled_back") return { kind: "rolled_back", reason: `rolled back by ${state.updatedBy} during the canary` };
    const job = this.#latestJob(stage);
    if (job && !isActive(job) && job.state !== "completed" && stage.acceptedJobId !== job.id) return { kind: "fail", reason: jobFailure(job) };
    if (!job || !isActive(job)) await this.#startFresherDelta(run, stage);
    const delta = this.#latestJob(stage);
    if (!state.plan) {
      if (delta && isActive(delta)) return { kind: "wait", for: `delta job ${delta.id} (${delta.state}) to finish before maintenance` };
      if (state.phase === "canary") return { kind: "done", note: `held ${state.percent} % healthy` };
      return { kind: "fail", reason: `the canary plan was stopped from outside the run (phase ${state.phase}, ${state.percent} %)` };
    }
    const { plan } = state;
    const holdEnds = plan.stepStartedAt + plan.holdSeconds * 1000;
    const lag = plan.maxSyncLagSeconds ? `, a sync at most ${plan.maxSyncLagSeconds} s old` : "";
    return { kind: "wait", for: `step ${plan.index + 1}/${plan.steps.length} (${state.percent} %)${plan.paused ? " (held)" : ""}: a healthy verdict (≥ ${state.thresholds.minRequests} requests to the new app in ${state.thresholds.windowSeconds} s) after ${iso(holdEnds)}${lag}` };
  }

  /** During the canary: a delta on the newest complete export set newer than what the last sync brought. */
  async #startFresherDelta(run: RunRecord, stage: StageRecord): Promise<void> {
    const since = Math.max(this.deps.lastSyncExportedAt() ?? 0, run.createdAt);
    const set = this.uploads.newestComplete(REQUIRED_TABLES, since);
    if (!set) return;
    const created = await this.deps.createJob({ kind: "delta", exportSet: set.set, settings: run.plan.jobSettings }, `run:${run.id}`);
    if (!created.ok) return; // another job is active: the next tick tries again
    stage.jobIds.push(created.value.id);
    this.#save(run, Date.now());
  }

  #patch(patch: CutoverPatch, actor: string, now: number, note: string): Check {
    const outcome = this.deps.updateCutover(patch, actor, now);
    return outcome.ok ? { kind: "done", note } : { kind: "fail", reason: `cutover change refused: ${outcome.error}` };
  }

  /** After the canary began, a rollback (the analysis's or an operator's) ends the run. */
  #rolledBack(): Check | null {
    const state = this.deps.cutover();
    return state.phase === "rolled_back" ? { kind: "rolled_back", reason: `rolled back by ${state.updatedBy}` } : null;
  }

  #timedOut(run: RunRecord, stage: StageRecord, now: number): Check | null {
    const seconds = run.plan.timeouts[stage.name] ?? STAGE_RULES[stage.name].timeoutSeconds;
    const from = stage.timerFrom ?? stage.startedAt;
    if (from === null || now < from + seconds * 1000) return null;
    return { kind: "fail", reason: `timed out after ${seconds} s${stage.waitingFor ? ` waiting for ${stage.waitingFor}` : ""}` };
  }

  /** The stage's failure action: pause and page, or roll back and end the run. */
  async #fail(run: RunRecord, stage: StageRecord, reason: string, now: number): Promise<void> {
    const actor = `run:${run.id}`;
    if (STAGE_RULES[stage.name].onFailure === "pause") {
      await this.#pause(run, stage, `${stage.name}: ${reason}`, actor, now, true);
      return;
    }
    await this.#cancelJob(stage, actor);
    this.#endStage(run, stage, "failed", reason, now);
    this.#backToLegacy(actor, `${stage.name}: ${reason}`, run, now);
    this.#finish(run, "rolled_back", `${stage.name}: ${reason}`, now);
  }

  async #pause(run: RunRecord, stage: StageRecord | null, reason: string, actor: string, now: number, failure = false): Promise<void> {
    run.state = "paused";
    run.attention = reason;
    const job = stage ? this.#latestJob(stage) : null;
    if (job && isActive(job) && !job.paused) await this.deps.controlJob(job.id, "pause", actor);
    if (stage?.name === "canary") this.deps.holdPlan(true, actor, now);
    this.#save(run, now);
    this.deps.audit(actor, "cutover.run.pause", { run: run.id, stage: stage?.name ?? null, reason, failure }, now);
    // The page: one error line an alert rule can match (Workers Logs).
    if (failure) console.error(JSON.stringify({ event: "cutover.run.attention", at: new Date(now).toISOString(), run: run.id, stage: stage?.name ?? null, reason }));
  }

  #backToLegacy(actor: string, reason: string, run: RunRecord, now: number): void {
    const state = this.deps.cutover();
    const untouched = (state.phase === "legacy" || state.phase === "rolled_back") && !state.maintenance.enabled;
    if (!untouched) this.deps.rollback(actor, reason, { run: run.id }, now);
  }

  async #cancelJob(stage: StageRecord, actor: string): Promise<void> {
    const job = this.#latestJob(stage);
    if (job && isActive(job)) await this.deps.controlJob(job.id, "cancel", actor);
  }

  #endStage(run: RunRecord, stage: StageRecord, state: "done" | "skipped" | "failed", note: string | null, now: number): void {
    stage.state = state;
    stage.endedAt = now;
    stage.waitingFor = null;
    if (note !== null) stage.note = note;
    this.#save(run, now);
    logEvent("cutover.run.stage", { run: run.id, stage: stage.name, state, note });
  }

  #finish(run: RunRecord, state: RunRecord["state"], reason: string | null, now: number, actor = `run:${run.id}`): void {
    const stage = run.stages.find((s) => s.state === "running" || s.state === "failed")?.name ?? null;
    run.state = state;
    run.finishedAt = now;
    if (reason !== null) run.attention = reason;
    this.#save(run, now);
    this.deps.audit(actor, `cutover.run.${state}`, { run: run.id, stage, reason }, now);
    logEvent("cutover.run.end", { run: run.id, state, reason });
  }

  #latestJob(stage: StageRecord): JobView | null {
    const id = stage.jobIds.at(-1);
    return id ? this.deps.job(id) : null;
  }

  #save(run: RunRecord, now: number): void {
    run.updatedAt = now;
    this.runs.save(run);
  }
}

/** The stage in force: the first not yet done or skipped. */
export function current(run: RunRecord): StageRecord | null {
  if (FINISHED_RUN_STATES.includes(run.state)) return run.stages.find((s) => s.state === "running" || s.state === "failed") ?? null;
  return run.stages.find((s) => s.state === "pending" || s.state === "running") ?? null;
}

function isActive(job: JobView): boolean {
  return job.state === "planning" || job.state === "copying" || job.state === "verifying";
}

function jobFailure(job: JobView): string {
  if (job.state === "completed_with_failures") return `${job.kind} job ${job.id} completed with ${job.items.failed} failed items, ${job.rowErrors} bad rows and ${job.conflicts.open} open conflicts (GET /admin/jobs/${job.id}/report?variant=errors)`;
  return `${job.kind} job ${job.id} is ${job.state}${job.error ? `: ${job.error}` : ""}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

