import { byteChunks, READ_CHUNK_BYTES } from "../lib/byte-chunks";
import { PartBuffers, type LentBuffer } from "./part-buffers";

/** Multipart part size for bodies of unknown length: bounded memory, R2's 5 MiB minimum respected. */
const PART_BYTES = 8 * 1024 * 1024;
/** A body up to this size is gathered and put in one call: cheaper than a stream (and, of unknown length, than a pooled part). */
const BUFFERED_PUT_BYTES = READ_CHUNK_BYTES;
/**
 * Part buffers the multipart uploads of one isolate hold at once, per kind of work: every request
 * and copy the isolate runs shares its 128 MB, and 64 chunked bodies in flight would otherwise hold
 * 64 parts. An upload takes a buffer only once its body outgrows BUFFERED_PUT_BYTES and gives it back
 * at its end; the others wait (their reads pause) at most PART_WAIT_MS, then fail (a copy is retried;
 * a user's upload is answered 503). Users' uploads and copies have pools of their own, so slow
 * uploads cannot hold up a migration; a turn held past PART_LEASE_MS (its request torn down without
 * ending it) may be taken back.
 */
export const MAX_PART_BUFFERS = 2;
const PART_WAIT_MS = 30_000;
const PART_LEASE_MS = 5 * 60_000;
export type PartPool = "copy" | "upload";
const partBuffers: Record<PartPool, PartBuffers> = { copy: new PartBuffers(PART_BYTES, MAX_PART_BUFFERS, PART_LEASE_MS), upload: new PartBuffers(PART_BYTES, MAX_PART_BUFFERS, PART_LEASE_MS) };

/** Where the chunks of one object go, in order; close() completes the object, abort() discards it. */
export interface R2Sink {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  abort(reason: unknown): Promise<void>;
}

/**
 * Opens a write of `key` that takes the body chunk by chunk, never holding more than a bounded part
 * of it. With a known length the chunks go straight into put() through a FixedLengthStream (which
 * also rejects a body of another length), or, for a body of at most 256 KiB, are gathered and put
 * in one call; without a length, they are uploaded in fixed-size multipart parts, one part in
 * memory at a time.
 */
export function openR2Sink(bucket: R2Bucket, key: string, length: number | null, options: R2PutOptions, pool: PartPool = "copy"): R2Sink {
  if (length === null) return new MultipartSink(bucket, key, options, partBuffers[pool]);
  return length <= BUFFERED_PUT_BYTES ? new BufferedSink(bucket, key, length, options) : new FixedLengthSink(bucket, key, length, options);
}

/** Streams `body` into R2 at `key` (see openR2Sink). */
export async function putStream(bucket: R2Bucket, key: string, body: ReadableStream<Uint8Array>, length: number | null, options: R2PutOptions, pool: PartPool = "copy"): Promise<void> {
  if (length !== null) {
    // A stream can go to put() whole: no JavaScript touches its chunks.
    const fixed = new FixedLengthStream(length);
    const [pipe, put] = await Promise.allSettled([body.pipeTo(fixed.writable), bucket.put(key, fixed.readable, options)]);
    // A failing source is the cause; the put's own error is then only a consequence.
    if (pipe.status === "rejected") throw pipe.reason;
    if (put.status === "rejected") throw put.reason;
    return;
  }
  const sink = openR2Sink(bucket, key, null, options, pool);
  try {
    for await (const chunk of byteChunks(body)) await sink.write(chunk);
  } catch (e) {
    await sink.abort(e);
    throw e;
  }
  await sink.close();
}

class FixedLengthSink implements R2Sink {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #put: Promise<unknown>;
  /** Rejects as soon as the put fails, so that a write never waits on a reader that is gone. */
  readonly #failed: Promise<never>;

  constructor(bucket: R2Bucket, key: string, length: number, options: R2PutOptions) {
    const fixed = new FixedLengthStream(length);
    this.#writer = fixed.writable.getWriter();
    this.#put = bucket.put(key, fixed.readable, options);
    this.#failed = this.#put.then(() => new Promise<never>(() => {}));
    this.#failed.catch(() => {});
  }

  async write(chunk: Uint8Array): Promise<void> {
    await Promise.race([this.#writer.write(chunk), this.#failed]);
  }

  async close(): Promise<void> {
    await Promise.race([this.#writer.close(), this.#failed]);
    await this.#put;
  }

  async abort(reason: unknown): Promise<void> {
    await this.#writer.abort(reason).catch(() => {});
    await this.#put.catch(() => {});
  }
}

class BufferedSink implements R2Sink {
  readonly #body: Uint8Array;
  #filled = 0;

  constructor(
    private readonly bucket: R2Bucket,
    private readonly key: string,
    length: number,
    private readonly options: R2PutOptions,
  ) {
    this.#body = new Uint8Array(length);
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#filled + chunk.byteLength > this.#body.byteLength) throw new RangeError(`more than the declared ${this.#body.byteLength} bytes`);
    this.#body.set(chunk, this.#filled);
    this.#filled += chunk.byteLength;
  }

  async close(): Promise<void> {
    if (this.#filled !== this.#body.byteLength) throw new RangeError(`${this.#filled} of the declared ${this.#body.byteLength} bytes`);
    await this.bucket.put(this.key, this.#body, this.options);
  }

  async abort(): Promise<void> {}
}

class MultipartSink implements R2Sink {
  /** The bytes so far while they fit BUFFERED_PUT_BYTES, then the part being filled (a pooled buffer, reused for every part). */
  #part: Uint8Array | null = null;
  #lent: LentBuffer | null = null;
  #filled = 0;
  #upload: R2MultipartUpload | null = null;
  readonly #parts: R2UploadedPart[] = [];

  constructor(
    private readonly bucket: R2Bucket,
    private readonly key: string,
    private readonly options: R2PutOptions,
    private readonly pool: PartBuffers,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    await this.#room(chunk.byteLength);
    let offset = 0;
    while (offset < chunk.byteLength) {
      const part = this.#part!;
      const n = Math.min(part.byteLength - this.#filled, chunk.byteLength - offset);
      part.set(chunk.subarray(offset, offset + n), this.#filled);
      this.#filled += n;
      offset += n;
      if (this.#filled === PART_BYTES) {
        this.#upload ??= await this.bucket.createMultipartUpload(this.key, this.options);
        // Awaited before the buffer is filled again.
        this.#parts.push(await this.#upload.uploadPart(this.#parts.length + 1, part));
        this.#filled = 0;
      }
    }
  }

  /** A small buffer for a body that may stay small; a pooled part buffer once it outgrows it. */
  async #room(incoming: number): Promise<void> {
    if (this.#part && (this.#part.byteLength === PART_BYTES || this.#filled + incoming <= this.#part.byteLength)) return;
    if (!this.#part && incoming <= BUFFERED_PUT_BYTES) {
      this.#part = new Uint8Array(BUFFERED_PUT_BYTES);
      return;
    }
    this.#lent = await this.pool.borrow(PART_WAIT_MS);
    const part = this.#lent.bytes;
    if (this.#part) part.set(this.#part.subarray(0, this.#filled));
    this.#part = part;
  }

  async close(): Promise<void> {
    try {
      const rest = this.#part?.subarray(0, this.#filled) ?? new Uint8Array(0);
      if (!this.#upload) {
        await this.bucket.put(this.key, rest, this.options);
        return;
      }
      try {
        if (this.#filled > 0) this.#parts.push(await this.#upload.uploadPart(this.#parts.length + 1, rest));
        await this.#upload.complete(this.#parts);
      } catch (e) {
        await this.#upload.abort().catch(() => {});
        throw e;
      }
    } finally {
      this.#free();
    }
  }

  async abort(): Promise<void> {
    try {
      await this.#upload?.abort().catch(() => {});
    } finally {
      this.#free();
    }
  }

  #free(): void {
    this.#part = null;
    this.#lent?.give();
    this.#lent = null;
  }
}
