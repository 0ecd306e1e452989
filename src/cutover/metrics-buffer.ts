import { clientAddressKey } from "../lib/client-address";
import { latencyBucket } from "./histogram";
import { statusClassIndex, type Backend, type BackendSample } from "./metrics-model";
import { addSample, emptySample } from "./sample-sum";

/** One served request, as the gate saw it. */
export interface ServedRequest {
  backend: Backend;
  version: number;
  status: number;
  ms: number;
  /** The client address (CF-Connecting-IP), if known: one client's weight is capped. */
  ip: string | null;
  /** The sticky key's hash, standing for the client when there is no address. */
  stickyHash: number;
  /** The request carried a body, so its duration depends on how fast the client sent it. */
  hasBody: boolean;
  /** Whether the rollback analysis may judge it (the new app's pages are counted, not judged). */
  judged: boolean;
}

/** Judged requests one client may contribute per second of one isolate's traffic. */
const PER_CLIENT_PER_SECOND = 10;

/**
 * Request metrics aggregated inside one isolate, handed out in batches: when `flushEvery` requests
 * have accumulated or `maxAgeMs` has passed since the last batch. One coordinator call per batch,
 * never one per request.
 *
 * Every answer is counted per status class (BackendSample.answered, the operator's counters). Of the
 * rest, only what an anonymous client cannot bend at will is recorded, since these numbers can roll the
 * cutover back or let a canary plan advance: 4xx answers are left out (cheap to make, they would
 * dilute real 5xx); a request with a body counts for the error rate but not for latency (a slow
 * upload or a deliberately costly login is the client's doing); and no single client contributes
 * more than PER_CLIENT_PER_SECOND requests a second (per isolate).
 */
export class MetricsBuffer {
  #samples = new Map<string, BackendSample>();
  #perClient = new Map<string, number>();
  #perClientSince: number;
  #pending = 0;
  #since: number;

  constructor(
    private readonly flushEvery = 500,
    private readonly maxAgeMs = 1_000,
    private readonly clock: () => number = Date.now,
  ) {
    this.#since = clock();
    this.#perClientSince = this.#since;
  }

  record({ backend, version, status, ms, ip, stickyHash, hasBody, judged }: ServedRequest): void {
    const sample = this.#sample(backend, version);
    sample.answered![statusClassIndex(status)]!++;
    this.#pending++;
    if (!judged || (status >= 400 && status < 500)) return;
    // Weight is capped per client address (which the client cannot choose), not per sticky key (which it can).
    const client = ip ? clientAddressKey(ip) : `bucket:${stickyHash}`;
    const now = this.clock();
    if (now - this.#perClientSince >= 1_000) {
      this.#perClient.clear();
      this.#perClientSince = now;
    }
    const seen = this.#perClient.get(client) ?? 0;
    if (seen >= PER_CLIENT_PER_SECOND) return;
    this.#perClient.set(client, seen + 1);
    sample.requests++;
    if (status >= 500) sample.errors++;
    if (!hasBody) {
      sample.histogram[latencyBucket(ms)]!++;
      sample.latencySumMs! += ms;
    }
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
    for (const sample of batch) this.#pending += addSample(this.#sample(sample.backend, sample.version), sample);
  }

  #sample(backend: Backend, version: number): BackendSample {
    const key = `${backend}@${version}`;
    let sample = this.#samples.get(key);
    if (!sample) this.#samples.set(key, (sample = emptySample(backend, version)));
    return sample;
  }
}
