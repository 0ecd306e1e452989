import { BACKENDS, type Backend, type BackendCounters, type BackendSample, type BackendSummary, type BackendTotals, type MetricsSeries, type SeriesPoint } from "../cutover/metrics-model";
import type { CutoverPatch } from "../cutover/patch-schema";
import { ANALYSED_PHASES, applyPatch, INITIAL_CUTOVER, rolledBack, type CutoverState } from "../cutover/state";
import { refuse, type Outcome } from "../lib/outcome";
import { judge, type Verdict } from "./analysis";
import type { AuditOutbox } from "./audit-outbox";
import { RequestMetrics, summarize } from "./request-metrics";

/** What the cutover needs to know about syncs between the two sides. */
export interface SyncFacts {
  /** How old the newest full or delta sync's legacy data is (seconds), or null if none has finished. */
  syncLagSeconds(now: number): number | null;
  /** The outbox sequence number the reverse syncs applied on legacy so far cover (0 if none). */
  appliedSeq(): number;
}

/** A series has at most this many points: a longer window has longer steps. */
export const SERIES_POINTS = 300;

/** How often the alarm re-judges the new backend while the cutover is being watched. */
export const ANALYSIS_INTERVAL_MS = 5_000;

/**
 * The cutover half of the coordinator: the one authoritative cutover state, the request metrics
 * the gates flush, and the analysis that rolls back (or walks a canary plan forward) on its own.
 * Every change is committed with its audit entry (AuditOutbox) in one transaction.
 */
export class CutoverControl {
  readonly #metrics: RequestMetrics;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly audit: AuditOutbox,
    private readonly sync: SyncFacts = { syncLagSeconds: () => null, appliedSeq: () => 0 },
    /** Told of every committed state (the relays' fan-out). */
    private readonly committed: (state: CutoverState) => void = () => {},
  ) {
    this.#metrics = new RequestMetrics(storage.sql);
  }

  state(): CutoverState {
    const row = this.storage.sql.exec<{ state: string }>(`SELECT state FROM cutover_state WHERE id = 1`).toArray()[0];
    return row ? (JSON.parse(row.state) as CutoverState) : structuredClone(INITIAL_CUTOVER);
  }

  /** Whether the analysis watches the new backend in the current phase. */
  watched(): boolean {
    return ANALYSED_PHASES.includes(this.state().phase);
  }

  update(patch: CutoverPatch, actor: string, now: number): Outcome<CutoverState> {
    const current = this.state();
    const outcome = applyPatch(current, patch, actor, now);
    if (outcome.ok) this.#commit(current, outcome.value, actor, "cutover.update", { patch }, now);
    return outcome;
  }

  rollback(actor: string, reason: string, evidence: unknown, now: number, endMaintenance = false): Outcome<CutoverState> {
    const current = this.state();
    if (current.phase === "complete") return refuse(409, "the cutover is complete; there is no legacy side to roll back to", "phase");
    const next = rolledBack(current, actor, now, this.sync.appliedSeq(), endMaintenance);
    this.#commit(current, next, actor, "cutover.rollback", { reason, evidence }, now);
    return { ok: true, value: next };
  }

  /**
   * A reverse sync covering the outbox up to `toSeq` was applied on legacy: users held back whose
   * writes it covers may now move to legacy.
   */
  reverseApplied(toSeq: number, actor: string, now: number): void {
    const current = this.state();
    if (current.phase === "complete" || !current.holdBack || toSeq <= current.holdBack.afterSeq) return;
    const next: CutoverState = { ...structuredClone(current), holdBack: { ...current.holdBack, afterSeq: toSeq }, version: current.version + 1, updatedAt: new Date(now).toISOString(), updatedBy: actor };
    this.#commit(current, next, actor, "cutover.hold_back_advanced", { toSeq }, now);
  }

  /** Holds (a paused cutover run) or releases the canary plan's step; released, the step's hold starts again. */
  holdPlan(held: boolean, actor: string, now: number): void {
    const current = this.state();
    if (!current.plan || Boolean(current.plan.paused) === held) return;
    const next: CutoverState = { ...structuredClone(current), version: current.version + 1, updatedAt: new Date(now).toISOString(), updatedBy: actor };
    next.plan = { ...current.plan, paused: held, ...(held ? {} : { stepStartedAt: now }) };
    this.#commit(current, next, actor, held ? "cutover.plan_held" : "cutover.plan_released", {}, now);
  }

  /** Stores a batch of gate metrics; false if a batch of this id was stored already. */
  record(samples: readonly BackendSample[], now: number, batchId?: string): boolean {
    return this.#metrics.record(samples, now, batchId);
  }

  /** Each backend's totals over the last `windowSeconds`, whatever the state version. */
  metricsReport(windowSeconds: number, now: number): Record<Backend, BackendSummary> {
    const totals = this.metricsTotals(windowSeconds, now);
    return Object.fromEntries(BACKENDS.map((b) => [b, summarize(totals[b])])) as Record<Backend, BackendSummary>;
  }

  /** The sums behind metricsReport, latency histograms included. */
  metricsTotals(windowSeconds: number, now: number): Record<Backend, BackendTotals> {
    const since = now - windowSeconds * 1000;
    return Object.fromEntries(BACKENDS.map((b) => [b, this.#metrics.totals(b, since)])) as Record<Backend, BackendTotals>;
  }

  /** What the gates counted per backend since the counters began (the OpenMetrics counters). */
  metricsCounters(): Record<Backend, BackendCounters> {
    return Object.fromEntries(BACKENDS.map((b) => [b, this.#metrics.counters(b)])) as Record<Backend, BackendCounters>;
  }

  /** Each backend's judged numbers over the last `windowSeconds`, at most SERIES_POINTS points of whole seconds. */
  metricsSeries(windowSeconds: number, now: number): MetricsSeries {
    const stepSeconds = Math.max(1, Math.ceil(windowSeconds / SERIES_POINTS));
    const points = Math.ceil(windowSeconds / stepSeconds);
    const backends = Object.fromEntries(BACKENDS.map((b) => [b, this.#metrics.series(b, now, stepSeconds * 1000, points)])) as Record<Backend, SeriesPoint[]>;
    return { windowSeconds, stepSeconds, backends };
  }

  /**
   * Judges the new backend over the window, counting only requests served under the state in force
   * (its version), and rolls back or advances the plan. Returns when it wants to judge again.
   */
  evaluate(now: number): number | null {
    const state = this.state();
    if (!ANALYSED_PHASES.includes(state.phase)) return null;
    const { thresholds } = state;
    const verdict = judge(this.#metrics.summary("workers", now - thresholds.windowSeconds * 1000, state.version), thresholds);
    if (verdict.kind === "unhealthy") {
      this.rollback("analysis", verdict.reason, { ...verdict.summary, thresholds, percent: state.percent }, now);
      return null;
    }
    if (state.plan) {
      const stepEnds = state.plan.stepStartedAt + state.plan.holdSeconds * 1000;
      if (verdict.kind === "healthy" && now >= stepEnds && !state.plan.paused && this.#synced(state.plan, now)) this.#advancePlan(state, verdict, now);
      else return Math.min(now + ANALYSIS_INTERVAL_MS, Math.max(stepEnds, now + 100));
    }
    return now + ANALYSIS_INTERVAL_MS;
  }

  /** Whether the plan's sync condition holds: users moved to the new app find their latest legacy changes there. */
  #synced(plan: NonNullable<CutoverState["plan"]>, now: number): boolean {
    if (!plan.maxSyncLagSeconds) return true;
    const lag = this.sync.syncLagSeconds(now);
    return lag !== null && lag <= plan.maxSyncLagSeconds;
  }

  /** The plan's next step (or its end, after the last), on a healthy verdict at the end of a hold. */
  #advancePlan(state: CutoverState, verdict: Extract<Verdict, { kind: "healthy" }>, now: number): void {
    const plan = state.plan!;
    const last = plan.index + 1 >= plan.steps.length;
    const next: CutoverState = structuredClone(state);
    if (last) next.plan = null;
    else {
      next.plan = { ...plan, index: plan.index + 1, stepStartedAt: now };
      next.percent = plan.steps[plan.index + 1]!;
      next.phase = next.percent === 100 ? "cutover" : "canary";
    }
    next.version = state.version + 1;
    next.updatedAt = new Date(now).toISOString();
    next.updatedBy = "analysis";
    this.#commit(state, next, "analysis", last ? "cutover.plan_complete" : "cutover.advance", { evidence: verdict.summary }, now);
  }

  #commit(from: CutoverState, to: CutoverState, actor: string, action: string, extra: Record<string, unknown>, now: number): void {
    this.storage.transactionSync(() => {
      this.storage.sql.exec(`INSERT INTO cutover_state (id, state) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state`, JSON.stringify(to));
      this.audit.add({ actor, action, target: "cutover", details: { ...extra, version: to.version, ...changes(from, to) } }, now);
    });
    this.committed(to);
  }
}

/** The fields that changed, as from → to. */
function changes(from: CutoverState, to: CutoverState): { from: Record<string, unknown>; to: Record<string, unknown> } {
  const keys = ["phase", "percent", "maintenance", "allowlist", "thresholds", "plan", "holdBack"] as const;
  const changed = keys.filter((k) => JSON.stringify(from[k]) !== JSON.stringify(to[k]));
  return { from: Object.fromEntries(changed.map((k) => [k, from[k]])), to: Object.fromEntries(changed.map((k) => [k, to[k]])) };
}
