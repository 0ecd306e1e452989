/** Request metrics as the gate sends them to the coordinator, one entry per backend. */
export const BACKENDS = ["workers", "legacy"] as const;
export type Backend = (typeof BACKENDS)[number];

/** HTTP status classes, in the order of BackendSample.answered. */
export const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

export function statusClassIndex(status: number): number {
  return Math.min(4, Math.max(0, Math.floor(status / 100) - 1));
}

/**
 * `requests`, `errors` and `histogram` are what the rollback analysis judges (metrics-buffer.ts says
 * what it leaves out); `answered` and `latencySumMs` are plain accounting for the operator's counters.
 */
export interface BackendSample {
  backend: Backend;
  /** The cutover state version the gate served these requests under. */
  version: number;
  requests: number;
  errors: number;
  /** Counts per LATENCY_BOUNDS_MS bucket (see histogram.ts). */
  histogram: number[];
  /** Every answer this backend gave through the gate, per STATUS_CLASSES entry, judged or not. Absent from gates deployed before it. */
  answered?: number[];
  /** The sum of the latencies counted in `histogram`, in ms. Absent from gates deployed before it. */
  latencySumMs?: number;
}

/** What the gates counted since the coordinator began counting: the OpenMetrics counters. */
export interface BackendCounters {
  /** Per STATUS_CLASSES entry. */
  answered: Record<StatusClass, number>;
  /** Cumulative per LATENCY_BOUNDS_MS bucket (not cumulative across buckets), of judged requests without a body. */
  histogram: number[];
  latencySumMs: number;
}

/** One point of a backend's series: the windows from `t` (ms) for `stepSeconds`. */
export interface SeriesPoint {
  t: number;
  requests: number;
  errors: number;
  p50Ms: number | null;
  p95Ms: number | null;
}

/** A backend's sums over a window, as the coordinator stores them: what a BackendSummary is computed from. */
export interface BackendTotals {
  requests: number;
  errors: number;
  flushes: number;
  /** Counts per LATENCY_BOUNDS_MS bucket (not cumulative). */
  histogram: number[];
}

export interface BackendSummary {
  requests: number;
  errors: number;
  errorRate: number;
  p50Ms: number | null;
  p95Ms: number | null;
  /** Batches the gates flushed into this window: far fewer than requests. */
  flushes: number;
}

/** Each backend's series over a window (GET /admin/metrics/series). */
export interface MetricsSeries {
  windowSeconds: number;
  stepSeconds: number;
  backends: Record<Backend, SeriesPoint[]>;
}
