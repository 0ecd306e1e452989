import { audit } from "../audit";
import type { Env } from "../env";
import { BACKENDS, type Backend, type BackendSample, type BackendSummary } from "../cutover/metrics-model";
import { ANALYSED_PHASES, applyPatch, INITIAL_CUTOVER, rolledBack, type CutoverPatch, type CutoverState, type PatchOutcome } from "../cutover/state";
import { judge, type Verdict } from "./analysis";
import { RequestMetrics } from "./request-metrics";

/** How often the alarm re-judges the new backend while the cutover is being watched. */
export const ANALYSIS_INTERVAL_MS = 5_000;

/**
 * The cutover half of the coordinator: the one authoritative cutover state, the request metrics
 * the gates flush, and the analysis that rolls back (or walks a canary plan forward) on its own.
 */
export class CutoverControl {
  readonly #metrics: RequestMetrics;

  constructor(
    private readonly sql: SqlStorage,
    private readonly env: Env,
  ) {
    sql.exec(`CREATE TABLE IF NOT EXISTS cutover_state (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL)`);
    this.#metrics = new RequestMetrics(sql);
  }

  state(): CutoverState {
    const row = this.sql.exec<{ state: string }>(`SELECT state FROM cutover_state WHERE id = 1`).toArray()[0];
    return row ? (JSON.parse(row.state) as CutoverState) : structuredClone(INITIAL_CUTOVER);
  }

  async update(patch: CutoverPatch, actor: string, now: number): Promise<PatchOutcome> {
    const current = this.state();
    const outcome = applyPatch(current, patch, actor, now);
    if (outcome.ok) await this.#commit(current, outcome.state, actor, "cutover.update", { patch });
    return outcome;
  }

  async rollback(actor: string, reason: string, evidence: unknown, now: number): Promise<CutoverState> {
    const current = this.state();
    if (current.phase === "complete") throw new Error("the cutover is complete; there is no legacy side to roll back to");
    const next = rolledBack(current, actor, now);
    await this.#commit(current, next, actor, "cutover.rollback", { reason, evidence });
    return next;
  }

  /** Stores a batch of gate metrics; while the cutover is watched, judges at once. */
  async record(samples: readonly BackendSample[], now: number): Promise<void> {
    this.#metrics.record(samples, now);
    if (ANALYSED_PHASES.includes(this.state().phase)) await this.evaluate(now);
  }

  report(windowSeconds: number, now: number): Record<Backend, BackendSummary> {
    const since = now - windowSeconds * 1000;
    return Object.fromEntries(BACKENDS.map((b) => [b, this.#metrics.summary(b, since)])) as Record<Backend, BackendSummary>;
  }

  /**
   * Judges the new backend over the window, counting only requests served under the state in force
   * (its version), and rolls back or advances the plan. Returns when it wants to judge again.
   */
  async evaluate(now: number): Promise<number | null> {
    const state = this.state();
    if (!ANALYSED_PHASES.includes(state.phase)) return null;
    const { thresholds } = state;
    const verdict = judge(this.#metrics.summary("workers", now - thresholds.windowSeconds * 1000, state.version), thresholds);
    if (verdict.kind === "unhealthy") {
      await this.rollback("analysis", verdict.reason, { ...verdict.summary, thresholds, percent: state.percent }, now);
      return null;
    }
    if (state.plan) {
      const stepEnds = state.plan.stepStartedAt + state.plan.holdSeconds * 1000;
      if (verdict.kind === "healthy" && now >= stepEnds) await this.#advance(state, verdict, now);
      else return Math.min(now + ANALYSIS_INTERVAL_MS, Math.max(stepEnds, now + 100));
    }
    return now + ANALYSIS_INTERVAL_MS;
  }

  async #advance(state: CutoverState, verdict: Extract<Verdict, { kind: "healthy" }>, now: number): Promise<void> {
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
    await this.#commit(state, next, "analysis", last ? "cutover.plan_complete" : "cutover.advance", { evidence: verdict.summary });
  }

  async #commit(from: CutoverState, to: CutoverState, actor: string, action: string, extra: Record<string, unknown>): Promise<void> {
    this.sql.exec(`INSERT INTO cutover_state (id, state) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state`, JSON.stringify(to));
    await audit(this.env, { actor, action, target: "cutover", details: { ...extra, version: to.version, ...changes(from, to) } });
  }
}

/** The fields that changed, as from → to. */
function changes(from: CutoverState, to: CutoverState): { from: Record<string, unknown>; to: Record<string, unknown> } {
  const keys = ["phase", "percent", "maintenance", "allowlist", "thresholds", "plan"] as const;
  const changed = keys.filter((k) => JSON.stringify(from[k]) !== JSON.stringify(to[k]));
  return { from: Object.fromEntries(changed.map((k) => [k, from[k]])), to: Object.fromEntries(changed.map((k) => [k, to[k]])) };
}
