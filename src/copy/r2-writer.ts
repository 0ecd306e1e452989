import { byteChunks, READ_CHUNK_BYTES } from "../lib/byte-chunks";
import { Semaphore } from "../lib/concurrency";

/** Multipart part size for bodies of unknown length: bounded memory, R2's 5 MiB minimum respected. */
const PART_BYTES = 8 * 1024 * 1024;
/**
 * Part buffers all the multipart uploads of one isolate hold at once: every copy the isolate runs
 * shares its 128 MB, and 64 chunked bodies in flight would otherwise hold 64 parts. An upload takes
 * a buffer at its first byte and gives it back at its end; the others wait (their origin reads pause).
 */
export const MAX_PART_BUFFERS = 2;
const partBuffers = new Semaphore(MAX_PART_BUFFERS);
/** A body of known length up to this size is gathered and put in one call: cheaper than a stream. */
const BUFFERED_PUT_BYTES = READ_CHUNK_BYTES;

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
export function openR2Sink(bucket: R2Bucket, key: string, length: number | null, options: R2PutOptions): R2Sink {
  if (length === null) return new MultipartSink(bucket, key, options);
  return length <= BUFFERED_PUT_BYTES ? new BufferedSink(bucket, key, length, options) : new FixedLengthSink(bucket, key, length, options);
}

/** Streams `body` into R2 at `key` (see openR2Sink). */
export async function putStream(bucket: R2Bucket, key: string, body: ReadableStream<Uint8Array>, length: number | null, options: R2PutOptions): Promise<void> {
  if (length !== null) {
    // A stream can go to put() whole: no JavaScript touches its chunks.
    const fixed = new FixedLengthStream(length);
    const [pipe, put] = await Promise.allSettled([body.pipeTo(fixed.writable), bucket.put(key, fixed.readable, options)]);
    // A failing source is the cause; the put's own error is then only a consequence.
    if (pipe.status === "rejected") throw pipe.reason;
    if (put.status === "rejected") throw put.reason;
    return;
  }
  const sink = openR2Sink(bucket, key, null, options);
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
  /** The part being filled: taken from partBuffers at the first write, reused for every part. */
  #part: Uint8Array | null = null;
  #release: (() => void) | null = null;
  #filled = 0;
  #upload: R2MultipartUpload | null = null;
  readonly #parts: R2UploadedPart[] = [];

  constructor(
    private readonly bucket: R2Bucket,
    private readonly key: string,
    private readonly options: R2PutOptions,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    if (!this.#part) {
      this.#release = await partBuffers.acquire();
      this.#part = new Uint8Array(PART_BYTES);
    }
    let offset = 0;
    while (offset < chunk.byteLength) {
      const n = Math.min(PART_BYTES - this.#filled, chunk.byteLength - offset);
      this.#part.set(chunk.subarray(offset, offset + n), this.#filled);
      this.#filled += n;
      offset += n;
      if (this.#filled === PART_BYTES) {
        this.#upload ??= await this.bucket.createMultipartUpload(this.key, this.options);
        // Awaited before the buffer is filled again.
        this.#parts.push(await this.#upload.uploadPart(this.#parts.length + 1, this.#part));
        this.#filled = 0;
      }
    }
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
    this.#release?.();
    this.#release = null;
  }
}
