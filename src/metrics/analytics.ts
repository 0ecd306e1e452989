import type { BackendSample } from "../cutover/metrics-model";

/**
 * Request and copy metrics written to Workers Analytics Engine (binding ANALYTICS) for long history;
 * README.md ("Long-history metrics") has the SQL that reads them. Writing never awaits and never
 * throws into the caller; without the binding it does nothing.
 *
 * Limits (https://developers.cloudflare.com/analytics/analytics-engine/limits/): per data point at
 * most 20 blobs, 20 doubles and one index, an index of at most 96 bytes and blobs of at most 16 KB in
 * total; at most 250 data points per Worker invocation, each writeDataPoint call counting (earlier
 * versions of that page said 25). The points below have at most 3 short blobs, 10 doubles and an index
 * that is a backend name or a job id (a UUID), so only the count needs enforcing: a PointBudget per
 * invocation.
 */
export const MAX_POINTS_PER_INVOCATION = 250;

/**
 * A request point: one per BackendSample of a gate's delivered metrics batch (a backend under one
 * cutover state version), so per gate flush, never per request.
 * index1 = backend; blob1 = backend ("workers" | "legacy"), blob2 = "request";
 * double<n> = REQUEST_DOUBLES[n - 1].
 */
export const REQUEST_DOUBLES = [
  /** double1: requests the rollback analysis judges (metrics-buffer.ts says which). */
  ["requests", (s) => s.requests],
  /** double2: of those, 5xx answers. */
  ["errors", (s) => s.errors],
  /** double3–double7: every answer, judged or not, per status class. */
  ["answered_1xx", (s) => s.answered?.[0] ?? 0],
  ["answered_2xx", (s) => s.answered?.[1] ?? 0],
  ["answered_3xx", (s) => s.answered?.[2] ?? 0],
  ["answered_4xx", (s) => s.answered?.[3] ?? 0],
  ["answered_5xx", (s) => s.answered?.[4] ?? 0],
  /** double8, double9: the latencies' sum and count (judged requests without a body): average = double8 / double9. */
  ["latency_sum_ms", (s) => s.latencySumMs ?? 0],
  ["latency_count", (s) => s.histogram.reduce((a, b) => a + b, 0)],
  /** double10: the cutover state version the gate served them under. */
  ["state_version", (s) => s.version],
] as const satisfies readonly (readonly [string, (sample: BackendSample) => number])[];

/**
 * A copy point: one per item outcome of a reported queue message.
 * index1 = job id; blob1 = outcome ("done" | "failed"), blob2 = failure reason or "", blob3 = the
 * message kind ("copy" | "verify"); double<n> = COPY_DOUBLES[n - 1].
 * When an invocation's budget cannot take one point per item, a message's outcomes are written one
 * point per outcome and reason instead, their sums in the same doubles: count items with
 * SUM(double2), not with COUNT().
 */
export const COPY_DOUBLES = [
  /** double1: bytes of the file (0 when failed). */
  ["bytes", (o) => (o.outcome === "done" ? o.bytes : 0)],
  /** double2: items this point stands for (1 per item). */
  ["items", () => 1],
  /** double3: items whose bytes R2 already held, so nothing was rewritten. */
  ["identical", (o) => (o.outcome === "done" && o.identical ? 1 : 0)],
] as const satisfies readonly (readonly [string, (outcome: CopyOutcome) => number])[];

/** An item's outcome as the consumer reports it (an ItemReport fits). */
export type CopyOutcome = { outcome: "done"; bytes: number; identical?: boolean } | { outcome: "failed"; reason: string };

/** Data points one invocation may still write. Make one per invocation (a request, a queue batch) and pass it to each write. */
export class PointBudget {
  left = MAX_POINTS_PER_INVOCATION;
  /** Set once the cap was reached or a write threw (and was logged): the invocation writes no more. */
  closed = false;
}

/** One point per sample of a delivered gate metrics batch. */
export function writeRequestSamples(dataset: AnalyticsEngineDataset | undefined, samples: readonly BackendSample[], budget = new PointBudget()): void {
  if (!dataset) return;
  writePoints(dataset, samples.map(requestPoint), budget);
}

/** One point per item outcome of a reported message; summed per outcome and reason when the budget is short. */
export function writeCopyOutcomes(
  dataset: AnalyticsEngineDataset | undefined,
  jobId: string,
  kind: "copy" | "verify",
  outcomes: readonly CopyOutcome[],
  budget = new PointBudget(),
): void {
  if (!dataset) return;
  const points = outcomes.length <= budget.left ? outcomes.map((o) => copyPoint(jobId, kind, o, copyDoubles(o))) : summedCopyPoints(jobId, kind, outcomes);
  writePoints(dataset, points, budget);
}

function requestPoint(sample: BackendSample): AnalyticsEngineDataPoint {
  return { indexes: [sample.backend], blobs: [sample.backend, "request"], doubles: REQUEST_DOUBLES.map(([, of]) => of(sample)) };
}

function copyDoubles(outcome: CopyOutcome): number[] {
  return COPY_DOUBLES.map(([, of]) => of(outcome));
}

function copyPoint(jobId: string, kind: "copy" | "verify", outcome: CopyOutcome, doubles: number[]): AnalyticsEngineDataPoint {
  return { indexes: [jobId], blobs: [outcome.outcome, outcome.outcome === "failed" ? outcome.reason : "", kind], doubles };
}

function summedCopyPoints(jobId: string, kind: "copy" | "verify", outcomes: readonly CopyOutcome[]): AnalyticsEngineDataPoint[] {
  const sums = new Map<string, { first: CopyOutcome; doubles: number[] }>();
  for (const o of outcomes) {
    const key = o.outcome === "failed" ? `failed:${o.reason}` : "done";
    const into = sums.get(key);
    if (!into) sums.set(key, { first: o, doubles: copyDoubles(o) });
    else copyDoubles(o).forEach((d, i) => (into.doubles[i]! += d));
  }
  return [...sums.values()].map(({ first, doubles }) => copyPoint(jobId, kind, first, doubles));
}

function writePoints(dataset: AnalyticsEngineDataset, points: readonly AnalyticsEngineDataPoint[], budget: PointBudget): void {
  if (budget.closed) return;
  try {
    for (const [i, point] of points.entries()) {
      if (budget.left === 0) {
        budget.closed = true;
        console.error(`analytics: ${MAX_POINTS_PER_INVOCATION} data points written in this invocation, its limit; ${points.length - i} and any later ones dropped`);
        return;
      }
      budget.left--;
      dataset.writeDataPoint(point);
    }
  } catch (e) {
    budget.closed = true;
    console.error("analytics: writing a data point failed; this invocation writes no more:", e);
  }
}
