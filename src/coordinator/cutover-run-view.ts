import type { BackendSummary } from "../cutover/metrics-model";
import type { CutoverState } from "../cutover/state";
import { STAGE_RULES, type RunRecord } from "./cutover-run-model";
import { current } from "./cutover-run";
import type { JobView, SyncStatus } from "./model";

/** What GET /admin/cutover/run shows: the run, each stage with its rule and times, and what it waits for now. */
export function runView(run: RunRecord, facts: { state: CutoverState; job: JobView | null; sync: SyncStatus; newApp: BackendSummary }) {
  const stage = current(run);
  const { state } = facts;
  return {
    id: run.id,
    state: run.state,
    stage: stage?.name ?? null,
    waitingFor: run.state === "running" ? (stage?.waitingFor ?? null) : run.state === "paused" ? "an operator: resume, skip the stage or abort" : null,
    attention: run.attention,
    stages: run.stages.map((s) => {
      const timeoutSeconds = run.plan.timeouts[s.name] ?? STAGE_RULES[s.name].timeoutSeconds;
      return {
        name: s.name,
        state: s.state,
        startedAt: iso(s.startedAt),
        endedAt: iso(s.endedAt),
        timeoutAt: s.startedAt !== null && s.endedAt === null ? iso(s.startedAt + timeoutSeconds * 1000) : null,
        jobIds: s.jobIds,
        note: s.note,
        waitingFor: s.waitingFor,
        ...(s.exportSet ? { exportSet: s.exportSet } : {}),
        ...(s.acceptedJobId ? { acceptedJobId: s.acceptedJobId } : {}),
        rule: { ...STAGE_RULES[s.name], timeoutSeconds },
      };
    }),
    gate: {
      phase: state.phase,
      percent: state.percent,
      maintenance: state.maintenance.enabled,
      plan: state.plan ? { step: state.plan.index + 1, of: state.plan.steps.length, steps: state.plan.steps, holdSeconds: state.plan.holdSeconds, stepStartedAt: iso(state.plan.stepStartedAt), held: Boolean(state.plan.paused) } : null,
      holdBack: state.holdBack ?? null,
      thresholds: state.thresholds,
      newApp: facts.newApp,
    },
    job: facts.job,
    sync: facts.sync,
    validation: run.validation,
    plan: run.plan,
    createdAt: iso(run.createdAt),
    updatedAt: iso(run.updatedAt),
    finishedAt: iso(run.finishedAt),
    startedBy: run.actor,
  };
}
export type RunView = ReturnType<typeof runView>;

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
