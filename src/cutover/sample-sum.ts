import { emptyHistogram, mergeInto } from "./histogram";
import { STATUS_CLASSES, type Backend, type BackendSample } from "./metrics-model";

/** An empty sample for `backend` under state `version`. */
export function emptySample(backend: Backend, version: number): BackendSample {
  return { backend, version, requests: 0, errors: 0, histogram: emptyHistogram(), answered: STATUS_CLASSES.map(() => 0), latencySumMs: 0 };
}

/** `samples` summed per backend and state version: one sample each. */
export function sumSamples(samples: Iterable<BackendSample>): BackendSample[] {
  const sums = new Map<string, BackendSample>();
  for (const sample of samples) {
    const key = `${sample.backend}@${sample.version}`;
    let into = sums.get(key);
    if (!into) sums.set(key, (into = emptySample(sample.backend, sample.version)));
    addSample(into, sample);
  }
  return [...sums.values()];
}

/** Adds `from` into `into` (same backend and version); returns how many answers `from` holds. */
export function addSample(into: BackendSample, from: BackendSample): number {
  into.requests += from.requests;
  into.errors += from.errors;
  mergeInto(into.histogram, from.histogram);
  into.latencySumMs = (into.latencySumMs ?? 0) + (from.latencySumMs ?? 0);
  into.answered ??= STATUS_CLASSES.map(() => 0);
  from.answered?.forEach((n, i) => (into.answered![i]! += n));
  return from.answered?.reduce((a, b) => a + b, 0) ?? from.requests;
}
