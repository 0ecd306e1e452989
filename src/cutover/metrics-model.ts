/** Request metrics as the gate sends them to the coordinator, one entry per backend. */
export const BACKENDS = ["workers", "legacy"] as const;
export type Backend = (typeof BACKENDS)[number];

export interface BackendSample {
  backend: Backend;
  /** The cutover state version the gate served these requests under. */
  version: number;
  requests: number;
  errors: number;
  /** Counts per LATENCY_BOUNDS_MS bucket (see histogram.ts). */
  histogram: number[];
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
