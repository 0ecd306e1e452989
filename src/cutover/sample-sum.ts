import { emptyHistogram, mergeInto } from "./histogram";
import { STATUS_CLASSES, type Backend, type BackendSample } from "./metrics-model";

/** An empty sample for `backend` under state `version`. */
export function emptySample(backend: Backend, version: number): BackendSample {
  return { backend, version, requests: 0, errors: 0, histogram: emptyHistogram(), answered: STATUS_CLASSES.map(() => 0), latencySumMs: 0 };
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
