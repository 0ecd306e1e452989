/** Fixed latency buckets (upper bounds, ms); the last bucket is everything slower. */
export const LATENCY_BOUNDS_MS = [5, 10, 25, 50, 100, 250, 500, 750, 1000, 1500, 2500, 5000, 10000] as const;
export const HISTOGRAM_SIZE = LATENCY_BOUNDS_MS.length + 1;

export function emptyHistogram(): number[] {
  return new Array<number>(HISTOGRAM_SIZE).fill(0);
}

export function latencyBucket(ms: number): number {
  const i = LATENCY_BOUNDS_MS.findIndex((bound) => ms <= bound);
  return i === -1 ? LATENCY_BOUNDS_MS.length : i;
}

export function mergeInto(target: number[], source: readonly number[]): void {
  for (let i = 0; i < HISTOGRAM_SIZE; i++) target[i]! += source[i] ?? 0;
}

/**
 * The q-quantile (0–1) as the upper bound of the bucket it falls in: a conservative estimate.
 * Beyond the last bound it reports twice that bound. Null without samples.
 */
export function quantileMs(histogram: readonly number[], q: number): number | null {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < HISTOGRAM_SIZE; i++) {
    seen += histogram[i]!;
    if (seen >= rank) return LATENCY_BOUNDS_MS[i] ?? LATENCY_BOUNDS_MS.at(-1)! * 2;
  }
  return LATENCY_BOUNDS_MS.at(-1)! * 2;
}
