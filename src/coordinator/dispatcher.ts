import type { CopyItem, CopyMessage, FailureReason, FileRecord, VerifyItem } from "../copy/messages";
import type { JobRecord } from "./jobs";
import type { LeasedItem, Ledger } from "./ledger";
import { verifiesOnly } from "./model";

/** Items leased per dispatch call at most, whatever the window: keeps one step bounded. */
const MAX_ITEMS_PER_DISPATCH = 1_000;
/** Items leased and sent at a time within a call; the call stops after DISPATCH_STEP_MS, checked after each send. */
const LEASE_CHUNK = 250;
const DISPATCH_STEP_MS = 25;
/**
 * Queues limits: 128 KB a message, 100 messages and 256 KB a sendBatch, in UTF-8 bytes of the JSON
 * body. Stay under with margin.
 */
const MAX_MESSAGE_BYTES = 100_000;
const MAX_SEND_MESSAGES = 100;
const MAX_SEND_BYTES = 200_000;
const SEND_RETRY_MS = 1_000;

export interface DispatchResult {
  sent: number;
  /** When dispatch could continue, if it is only waiting for rate tokens. */
  retryAt: number | null;
  /** The call stopped on time with items still ready and room in the window: go on at once. */
  more: boolean;
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

  /**
   * Leases and sends ready items, LEASE_CHUNK at a time, until the window, the rate, the ready items,
   * MAX_ITEMS_PER_DISPATCH or DISPATCH_STEP_MS runs out (the Workers clock moves across each send).
   */
  async dispatch(job: JobRecord, now: number): Promise<DispatchResult> {
    const started = Date.now();
    let sent = 0;
    let budget = MAX_ITEMS_PER_DISPATCH;
    for (;;) {
      const chunk = await this.#dispatchChunk(job, Math.min(budget, LEASE_CHUNK), now);
      sent += chunk.sent;
      budget -= chunk.leased;
      if (chunk.stop) return { sent, retryAt: chunk.retryAt, more: false };
      if (budget <= 0 || Date.now() - started >= DISPATCH_STEP_MS) return { sent, retryAt: null, more: true };
    }
  }

  /** Leases up to `limit` items within window and rate and sends them; `stop` when there is no point in another chunk now. */
  async #dispatchChunk(job: JobRecord, limit: number, now: number): Promise<{ sent: number; leased: number; retryAt: number | null; stop: boolean }> {
    const { settings } = job;
    const room = Math.min(settings.maxInFlight - this.ledger.leasedCount(job.id), limit);
    if (room <= 0) return { sent: 0, leased: 0, retryAt: null, stop: true };
    const granted = this.#limiter.take(settings.ratePerSecond, room, now);
    const leased = this.ledger.lease(job.id, granted, now, settings.leaseSeconds * 1000);
    // Tokens not used for lack of ready items go back into the bucket.
    this.#limiter.refund(granted - leased.length);
    const retryAt = granted < room ? now + this.#limiter.msUntil(Math.min(room, settings.batchSize), settings.ratePerSecond) : null;
    if (leased.length === 0) return { sent: 0, leased: 0, retryAt, stop: true };
    const { messages, oversize } = pack(job, leased);
    for (const item of oversize) {
      this.#fail(job, item, "message_too_large", `its queue message would be ${item.bytes} bytes, over the ${MAX_MESSAGE_BYTES}-byte limit`, now);
    }
    const { sent, refused } = await this.#send(job, messages, now);
    if (refused) return { sent, leased: leased.length, retryAt: now + SEND_RETRY_MS, stop: true };
    return { sent, leased: leased.length, retryAt, stop: retryAt !== null || leased.length < granted };
  }

  /** Sends the messages batch by batch, stopping at the first batch the queue refuses. */
  async #send(job: JobRecord, messages: SizedMessage[], now: number): Promise<{ sent: number; refused: boolean }> {
    let sent = 0;
    for (const group of sendGroups(messages)) {
      const items = itemsOf(group);
      try {
        await this.queue.sendBatch(group.map(({ body }) => ({ body, contentType: "json" })));
        sent += items.length;
      } catch (e) {
        console.error(`sendBatch failed for job ${job.id}:`, e);
        // The refused batch costs its items an attempt, so that a message the queue never takes
        // fails after maxAttempts instead of being handed out forever. Later batches were not tried.
        for (const item of items) this.#fail(job, item, "queue_send", `sendBatch failed: ${e instanceof Error ? e.message : String(e)}`, now);
        const untried = itemsOf(messages.slice(messages.indexOf(group.at(-1)!) + 1));
        this.ledger.unlease(job.id, untried.map((i) => i.fileId), now + SEND_RETRY_MS);
        return { sent, refused: true };
      }
    }
    return { sent, refused: false };
  }

  /** Settles a leased item as a consumer's failure report would: retried while transient and attempts remain. */
  #fail(job: JobRecord, item: { fileId: string; attempt: number }, reason: FailureReason, detail: string, now: number): void {
    this.ledger.apply({ jobId: job.id, fileId: item.fileId, attempt: item.attempt, outcome: "failed", reason, detail }, now, job.settings);
  }
}

interface SizedMessage {
  body: CopyMessage;
  /** UTF-8 bytes of its JSON, at most (as Queues counts them). */
  bytes: number;
}

/** An item whose message would be too large even with nothing else in it. */
interface Oversize {
  fileId: string;
  attempt: number;
  bytes: number;
}

/** Packs items into messages of at most batchSize items and MAX_MESSAGE_BYTES each. */
function pack(job: JobRecord, items: LeasedItem[]): { messages: SizedMessage[]; oversize: Oversize[] } {
  const envelope = jsonBytes(emptyMessage(job));
  const messages: SizedMessage[] = [];
  const oversize: Oversize[] = [];
  let current: SizedMessage | null = null;
  for (const leased of items) {
    const item = verifiesOnly(job.kind) ? verifyItem(leased) : copyItem(leased);
    const size = jsonBytes(item) + 1; // and the comma before it
    if (envelope + size > MAX_MESSAGE_BYTES) {
      oversize.push({ fileId: item.fileId, attempt: item.attempt, bytes: envelope + size - 1 });
      continue;
    }
    if (!current || current.body.items.length >= job.settings.batchSize || current.bytes + size > MAX_MESSAGE_BYTES) {
      current = { body: emptyMessage(job), bytes: envelope };
      messages.push(current);
    }
    (current.body.items as (CopyItem | VerifyItem)[]).push(item);
    current.bytes += size;
  }
  return { messages, oversize };
}

function emptyMessage(job: JobRecord): CopyMessage {
  const { settings } = job;
  return verifiesOnly(job.kind)
    ? { kind: "verify", jobId: job.id, concurrency: settings.consumerConcurrency, items: [] }
    : { kind: "copy", jobId: job.id, fetchTimeoutMs: settings.fetchTimeoutMs, concurrency: settings.consumerConcurrency, items: [] };
}

function itemsOf(messages: readonly SizedMessage[]): (CopyItem | VerifyItem)[] {
  return messages.flatMap(({ body }): (CopyItem | VerifyItem)[] => body.items);
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

function* sendGroups(messages: readonly SizedMessage[]): Generator<SizedMessage[]> {
  let group: SizedMessage[] = [];
  let bytes = 0;
  for (const message of messages) {
    if (group.length > 0 && (group.length >= MAX_SEND_MESSAGES || bytes + message.bytes > MAX_SEND_BYTES)) {
      yield group;
      group = [];
      bytes = 0;
    }
    group.push(message);
    bytes += message.bytes;
  }
  if (group.length > 0) yield group;
}

function jsonBytes(value: unknown): number {
  return utf8Length(JSON.stringify(value));
}

const encoder = new TextEncoder();
/** Room for the UTF-8 of any string of up to MAX_MESSAGE_BYTES UTF-16 units (3 bytes each at most). */
const scratch = new Uint8Array(3 * MAX_MESSAGE_BYTES);

/**
 * The UTF-8 length of a string. Every item of every job is sized, so it is encoded into one reused
 * buffer, not allocated; only a string too long to fit any message anyway is encoded afresh.
 */
function utf8Length(text: string): number {
  return text.length <= MAX_MESSAGE_BYTES ? encoder.encodeInto(text, scratch).written : encoder.encode(text).length;
}
