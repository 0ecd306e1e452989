// GET /admin/cutover/run as this CLI reads it: the fields of src/coordinator/cutover-run-view.ts
// (and the JobView, BackendSummary and SyncStatus it carries) that the CLI shows. Most of the
// Worker's own types cannot be imported here: src/ is written for the bundler (imports without
// extensions) and for workerd's types; metrics-model.ts, which imports nothing, can.
import type { BackendSummary } from "../../src/cutover/metrics-model.ts";

export interface StageView {
  name: string;
  /** pending | running | done | skipped | failed */
  state: string;
  startedAt: string | null;
  endedAt: string | null;
  timeoutAt: string | null;
  jobIds: string[];
  note: string | null;
  waitingFor: string | null;
}

export interface JobView {
  id: string;
  kind: string;
  state: string;
  paused: boolean;
  error: string | null;
  items: { pending: number; leased: number; done: number; failed: number; total: number };
  bytes: { total: number; done: number };
  throughput: { filesPerSecond: number; bytesPerSecond: number };
  /** Seconds left, by the job's own estimate. */
  eta: number | null;
}

export interface GateView {
  phase: string;
  /** The new app's share of users. */
  percent: number;
  maintenance: boolean;
  plan: { step: number; of: number; steps: number[]; holdSeconds: number; stepStartedAt: string | null; held: boolean } | null;
  holdBack: { afterSeq: number; since: string } | null;
  newApp: BackendSummary;
}

export interface RunView {
  id: string;
  /** running | paused | completed | rolled_back | failed | aborted */
  state: string;
  stage: string | null;
  waitingFor: string | null;
  attention: string | null;
  stages: StageView[];
  gate: GateView;
  job: JobView | null;
  sync: { lastSync: { jobId: string; kind: string; exportedAt: string | null } | null; lagSeconds: number | null };
  /** The validation suite's report once it ran (src/validation/report.ts). */
  validation: { ok: boolean; checks: { name: string; ok: boolean }[] } | null;
  plan: {
    exportSet: string;
    canary: { steps: number[]; holdSeconds: number; maxSyncLagSeconds?: number };
    thresholds?: { errorRate?: number; p95Ms?: number };
    watchSeconds: number;
  };
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  startedBy: string;
}

const FAILED = new Set(["rolled_back", "aborted", "failed"]);

export function isFinished(view: RunView): boolean {
  return FAILED.has(view.state) || view.state === "completed";
}

/** 0 while a run goes on or once it completed, 1 once it ended any other way. */
export function exitCodeOf(view: RunView): number {
  return FAILED.has(view.state) ? 1 : 0;
}

/** Whether a JSON answer looks like a run view (enough for the renderer not to trip on it). */
export function looksLikeRunView(value: unknown): value is RunView {
  const v = value as Partial<RunView> | null;
  return typeof v === "object" && v !== null && typeof v.id === "string" && typeof v.state === "string" && Array.isArray(v.stages) && typeof v.gate === "object" && v.gate !== null;
}
