import type { CopyItem, CopyMessage, FileRecord, VerifyItem } from "../copy/messages";
import type { JobRecord } from "./jobs";
import type { LeasedItem, Ledger } from "./ledger";

/** Items leased per dispatch call at most, whatever the window: keeps one step bounded. */
const MAX_ITEMS_PER_DISPATCH = 1_000;
/** Queues limits: 128 KB a message, 100 messages and 256 KB a sendBatch. Stay under with margin. */
const MAX_MESSAGE_BYTES = 100_000;
const MAX_SEND_MESSAGES = 100;
const MAX_SEND_BYTES = 200_000;
const SEND_RETRY_MS = 1_000;

export interface DispatchResult {
  sent: number;
  /** When dispatch could continue, if it is only waiting for rate tokens. */
  retryAt: number | null;
}

/** Token bucket: ratePerSecond tokens a second, holding at most one second's worth. */
export class RateLimiter {
  #tokens = 0;
  #at = 0;
  #rate = 0;

  take(rate: number, wanted: number, now: number): number {
    if (rate !== this.#rate) {
      this.#rate = rate;
      this.#tokens = rate;
      this.#at = now;
    }
    this.#tokens = Math.min(rate, this.#tokens + ((now - this.#at) / 1000) * rate);
    this.#at = now;
    const granted = Math.min(wanted, Math.floor(this.#tokens));
    this.#tokens -= granted;
    return granted;
  }

  refund(count: number): void {
    this.#tokens = Math.min(this.#rate, this.#tokens + count);
  }

  msUntil(count: number, rate: number): number {
    return Math.ceil((Math.max(0, count - this.#tokens) / rate) * 1000);
  }
}

/** Hands ready items to the copy queue within the job's in-flight window and rate limit. */
export class Dispatcher {
  readonly #limiter = new RateLimiter();

  constructor(
    private readonly ledger: Ledger,
    private readonly queue: Queue<CopyMessage>,
  ) {}

  async dispatch(job: JobRecord, now: number): Promise<DispatchResult> {
    const { settings } = job;
    const room = Math.min(settings.maxInFlight - this.ledger.leasedCount(job.id), MAX_ITEMS_PER_DISPATCH);
    if (room <= 0) return { sent: 0, retryAt: null };
    const granted = this.#limiter.take(settings.ratePerSecond, room, now);
    const leased = this.ledger.lease(job.id, granted, now, settings.leaseSeconds * 1000);
    // Tokens not used for lack of ready items go back into the bucket.
    this.#limiter.refund(granted - leased.length);
    const retryAt = granted < room ? now + this.#limiter.msUntil(Math.min(room, settings.batchSize), settings.ratePerSecond) : null;
    if (leased.length === 0) return { sent: 0, retryAt };
    const messages = pack(job, leased);
    let sent = 0;
    for (const group of sendGroups(messages)) {
      try {
        await this.queue.sendBatch(group.map((body) => ({ body, contentType: "json" })));
        sent += group.reduce((n, m) => n + m.items.length, 0);
      } catch (e) {
        console.error(`sendBatch failed for job ${job.id}:`, e);
        const unsent = messages.slice(messages.indexOf(group[0]!)).flatMap((m) => m.items.map((i) => i.fileId));
        this.ledger.unlease(job.id, unsent, now + SEND_RETRY_MS);
        return { sent, retryAt: now + SEND_RETRY_MS };
      }
    }
    return { sent, retryAt };
  }
}

function pack(job: JobRecord, items: LeasedItem[]): CopyMessage[] {
  const { settings } = job;
  const messages: CopyMessage[] = [];
  let current: CopyMessage | null = null;
  let bytes = 0;
  for (const leased of items) {
    const item = job.kind === "verify" ? verifyItem(leased) : copyItem(leased);
    const size = JSON.stringify(item).length;
    if (!current || current.items.length >= settings.batchSize || bytes + size > MAX_MESSAGE_BYTES) {
      current =
        job.kind === "verify"
          ? { kind: "verify", jobId: job.id, concurrency: settings.consumerConcurrency, items: [] }
          : { kind: "copy", jobId: job.id, fetchTimeoutMs: settings.fetchTimeoutMs, concurrency: settings.consumerConcurrency, items: [] };
      messages.push(current);
      bytes = 200;
    }
    (current.items as (CopyItem | VerifyItem)[]).push(item);
    bytes += size;
  }
  return messages;
}

function copyItem(leased: LeasedItem): CopyItem {
  return {
    fileId: leased.fileId,
    attempt: leased.attempt,
    sourcePath: leased.sourcePath ?? "",
    r2Key: leased.r2Key,
    expectedSize: leased.expectedSize,
    record: leased.payload as FileRecord,
  };
}

function verifyItem(leased: LeasedItem): VerifyItem {
  const payload = leased.payload as { size: number; sha256: string };
  return { fileId: leased.fileId, attempt: leased.attempt, r2Key: leased.r2Key, size: payload.size, sha256: payload.sha256 };
}

function* sendGroups(messages: CopyMessage[]): Generator<CopyMessage[]> {
  let group: CopyMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = JSON.stringify(message).length;
    if (group.length > 0 && (group.length >= MAX_SEND_MESSAGES || bytes + size > MAX_SEND_BYTES)) {
      yield group;
      group = [];
      bytes = 0;
    }
    group.push(message);
    bytes += size;
  }
  if (group.length > 0) yield group;
}
