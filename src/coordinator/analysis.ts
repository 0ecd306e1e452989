import type { BackendSummary } from "../cutover/metrics-model";
import type { Thresholds } from "../cutover/patch-schema";

export type Verdict =
  | { kind: "insufficient"; requests: number }
  | { kind: "healthy"; summary: BackendSummary }
  | { kind: "unhealthy"; reason: string; summary: BackendSummary };

/** Judges the new backend over the analysis window: too few requests give no verdict. */
export function judge(summary: BackendSummary, thresholds: Thresholds): Verdict {
  if (summary.requests < thresholds.minRequests) return { kind: "insufficient", requests: summary.requests };
  if (summary.errorRate > thresholds.errorRate) {
    return { kind: "unhealthy", summary, reason: `5xx rate ${(summary.errorRate * 100).toFixed(1)}% > ${(thresholds.errorRate * 100).toFixed(1)}%` };
  }
  if (summary.p95Ms !== null && summary.p95Ms > thresholds.p95Ms) {
    return { kind: "unhealthy", summary, reason: `p95 ${summary.p95Ms} ms > ${thresholds.p95Ms} ms` };
  }
  return { kind: "healthy", summary };
}
