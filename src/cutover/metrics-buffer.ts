import { emptyHistogram, latencyBucket, mergeInto } from "./histogram";
import type { Backend, BackendSample } from "./metrics-model";

/**
 * Request metrics aggregated inside one isolate, handed out in batches: when `flushEvery` requests
 * have accumulated or `maxAgeMs` has passed since the last batch. One coordinator call per batch,
 * never one per request.
 */
export class MetricsBuffer {
  #samples = new Map<string, BackendSample>();
  #pending = 0;
  #since: number;

  constructor(
    private readonly flushEvery = 500,
    private readonly maxAgeMs = 1_000,
    private readonly clock: () => number = Date.now,
  ) {
    this.#since = clock();
  }

  record(backend: Backend, version: number, status: number, ms: number): void {
    const sample = this.#sample(backend, version);
    sample.requests++;
    if (status >= 500) sample.errors++;
    sample.histogram[latencyBucket(ms)]!++;
    this.#pending++;
  }

  /** The batch to send, if one is due; the buffer starts afresh. */
  takeIfDue(): BackendSample[] | null {
    if (this.#pending === 0 || (this.#pending < this.flushEvery && this.clock() - this.#since < this.maxAgeMs)) return null;
    const batch = [...this.#samples.values()];
    this.#samples = new Map();
    this.#pending = 0;
    this.#since = this.clock();
    return batch;
  }

  /** Puts back a batch that could not be delivered, so it goes with the next one. */
  restore(batch: readonly BackendSample[]): void {
    for (const sample of batch) {
      const into = this.#sample(sample.backend, sample.version);
      into.requests += sample.requests;
      into.errors += sample.errors;
      mergeInto(into.histogram, sample.histogram);
      this.#pending += sample.requests;
    }
  }

  #sample(backend: Backend, version: number): BackendSample {
    const key = `${backend}@${version}`;
    let sample = this.#samples.get(key);
    if (!sample) this.#samples.set(key, (sample = { backend, version, requests: 0, errors: 0, histogram: emptyHistogram() }));
    return sample;
  }
}
