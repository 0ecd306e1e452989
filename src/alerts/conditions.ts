import type { CutoverState } from "../cutover/state";
import type { Condition } from "./model";

/** What the coordinator knows now, as far as alerts are concerned. */
export interface AlertSnapshot {
  now: number;
  cutover: CutoverState;
  /** Recent jobs (newest first): id, kind, state, error, when finished, and progress. */
  jobs: readonly { id: string; kind: string; exportSet: string | null; state: string; paused: boolean; error: string | null; finishedAt: number | null; failed: number }[];
  /** Active jobs whose progress has not moved since `since`. */
  stalls: readonly { jobId: string; state: string; since: number }[];
  stallMs: number;
  /** The newest cutover run, if it is unfinished and asks for an operator. */
  run: { id: string; stage: string | null; attention: string | null } | null;
  sync: { lagSeconds: number | null; maxLagSeconds: number };
  /** Gates that served a state they could not refresh, the last report of it (null: none). */
  gateStaleAt: number | null;
  gateStaleMs: number;
  /** After a rollback: new-side changes legacy has not received (null: not known or nobody held back). */
  reversePending: number | null;
}

/** Job alerts concern jobs that finished within this long. */
const JOB_ALERT_MS = 7 * 86_400_000;

/** Every condition that holds in `s`. Pure: the store compares it with what is firing. */
export function conditions(s: AlertSnapshot): Condition[] {
  const out: Condition[] = [];
  const { cutover } = s;
  if (cutover.phase === "rolled_back") {
    // The analysis, or a cutover run whose stage failed, rolled back on its own: nobody has seen it yet.
    const automatic = cutover.updatedBy === "analysis" || cutover.updatedBy.startsWith("run:");
    out.push({
      key: "cutover.rollback",
      kind: "cutover.rollback",
      severity: automatic ? "critical" : "warning",
      summary:
        cutover.updatedBy === "analysis"
          ? "The cutover was rolled back automatically: the new app crossed its error or latency threshold"
          : automatic
            ? `The cutover was rolled back automatically by ${cutover.updatedBy}: a stage failed`
            : `The cutover was rolled back by ${cutover.updatedBy}`,
      details: { version: cutover.version, percent: cutover.percent, by: cutover.updatedBy, at: cutover.updatedAt, thresholds: cutover.thresholds },
    });
  }
  if (cutover.holdBack && s.reversePending !== null && s.reversePending > 0) {
    out.push({
      key: "reverse.pending",
      kind: "reverse.pending",
      severity: "warning",
      summary: `${s.reversePending} new-app change(s) since the rollback have not reached legacy: run a reverse job and apply its bundle`,
      details: { afterSeq: cutover.holdBack.afterSeq, since: cutover.holdBack.since, pending: s.reversePending },
    });
  }
  if (s.run?.attention) {
    out.push({ key: `run:${s.run.id}`, kind: "run.attention", severity: "critical", summary: `Cutover run stage ${s.run.stage ?? "?"} needs an operator: ${s.run.attention}`, details: { runId: s.run.id, stage: s.run.stage } });
  }
  for (const job of latestPerKind(s.jobs)) {
    if ((job.state !== "failed" && job.state !== "completed_with_failures") || job.finishedAt === null || s.now - job.finishedAt > JOB_ALERT_MS) continue;
    const failed = job.state === "failed";
    out.push({
      key: `job:${job.id}`,
      kind: "job.failed",
      severity: failed ? "critical" : "warning",
      summary: failed ? `The ${job.kind} job ${job.id} failed: ${job.error ?? "no reason recorded"}` : `The ${job.kind} job ${job.id} completed with ${job.failed} failure(s)`,
      details: { jobId: job.id, kind: job.kind, state: job.state, exportSet: job.exportSet, failed: job.failed, error: job.error },
    });
  }
  for (const stall of s.stalls) {
    if (s.now - stall.since < s.stallMs) continue;
    out.push({
      key: `job:${stall.jobId}:stalled`,
      kind: "job.stalled",
      severity: "warning",
      summary: `Job ${stall.jobId} has made no progress for ${Math.round((s.now - stall.since) / 60_000)} min (${stall.state})`,
      details: { jobId: stall.jobId, state: stall.state, since: new Date(stall.since).toISOString() },
    });
  }
  if (s.gateStaleAt !== null && s.now - s.gateStaleAt < s.gateStaleMs) {
    out.push({ key: "gate.stale", kind: "gate.stale", severity: "warning", summary: "Gates are serving a cutover state they could not refresh", details: { lastReport: new Date(s.gateStaleAt).toISOString() } });
  }
  const canary = cutover.phase === "canary" && cutover.percent > 0;
  const maxLag = cutover.plan?.maxSyncLagSeconds ?? s.sync.maxLagSeconds;
  if (canary && s.sync.lagSeconds !== null && s.sync.lagSeconds > maxLag) {
    out.push({ key: "sync.lag", kind: "sync.lag", severity: "warning", summary: `The new app's copy of legacy data is ${s.sync.lagSeconds} s old (limit ${maxLag} s): run a delta job`, details: { lagSeconds: s.sync.lagSeconds, maxLagSeconds: maxLag } });
  }
  return out;
}

/** The newest job of each kind and export set: a later one that went well supersedes an earlier failure. */
function latestPerKind<T extends { kind: string; exportSet: string | null }>(jobs: readonly T[]): T[] {
  const seen = new Set<string>();
  return jobs.filter((job) => {
    const key = `${job.kind}\u0000${job.exportSet ?? ""}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
