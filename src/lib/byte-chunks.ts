/** Chunk size for reading bodies: large enough that per-chunk costs vanish, small enough to hold 64 at once. */
export const READ_CHUNK_BYTES = 256 * 1024;

/** The read size for a body of `length` bytes (null: unknown): one read when it fits a chunk. */
export function chunkBytesFor(length: number | null): number {
  return length === null ? READ_CHUNK_BYTES : Math.min(READ_CHUNK_BYTES, length + 1);
}

/**
 * Reads a byte stream in chunks of up to `size` bytes. Network and R2 bodies arrive in reads of
 * about 4 KiB, and each chunk that passes through JavaScript (hashing, counting, writing on) costs
 * about the same whatever its size, so filling a larger buffer per read (BYOB) makes a big body
 * several times cheaper to copy. A stream that is not a byte stream is read as it comes.
 * A chunk is valid until the loop asks for the next one: one buffer is refilled for every read
 * of a byte stream (a 20 MiB body would otherwise leave 80 buffers of 256 KiB to the collector), so
 * a consumer that keeps bytes past its turn must copy them.
 * Stopping early (break or throw in the loop) cancels the stream.
 */
export async function* byteChunks(body: ReadableStream<Uint8Array>, size = READ_CHUNK_BYTES): AsyncGenerator<Uint8Array> {
  const bytes = Math.max(1, Math.floor(size));
  const byob = byobReaderOf(body);
  const reader = byob ?? body.getReader();
  let finished = false;
  // The memory of the chunk just yielded: the next read fills it again (unless the consumer took it away).
  let reusable = null as ArrayBuffer | null;
  try {
    for (;;) {
      const { value, done }: ReadableStreamReadResult<Uint8Array> = byob
        ? await byob.readAtLeast(bytes, reusable?.byteLength === bytes ? new Uint8Array(reusable) : new Uint8Array(bytes))
        : await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
      if (value && value.byteLength > 0) yield value;
      reusable = byob && value ? (value.buffer as ArrayBuffer) : null;
      if (done) break;
    }
    finished = true;
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/**
 * The first `max` bytes of a stream (all of it if shorter), read in one call on a byte stream; the
 * rest is cancelled. A caller that expects n bytes asks for n + 1: one more means the body is longer
 * than it said, found without reading it all.
 */
export async function readAtMost(body: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array> {
  const size = Math.max(0, Math.floor(max));
  const byob = byobReaderOf(body);
  if (byob) {
    // One read fills the buffer, or ends with the stream: no copy.
    try {
      if (size === 0) return new Uint8Array(0);
      return (await byob.readAtLeast(size, new Uint8Array(size))).value ?? new Uint8Array(0);
    } finally {
      await byob.cancel().catch(() => {});
      byob.releaseLock();
    }
  }
  const out = new Uint8Array(size);
  let filled = 0;
  for await (const chunk of byteChunks(body, out.byteLength || 1)) {
    const n = Math.min(chunk.byteLength, out.byteLength - filled);
    out.set(chunk.subarray(0, n), filled);
    filled += n;
    if (filled === out.byteLength) break;
  }
  return out.subarray(0, filled);
}

/** A BYOB reader of `body`, or null when it is not a byte stream (then `body` is left unlocked). */
function byobReaderOf(body: ReadableStream<Uint8Array>): ReadableStreamBYOBReader | null {
  try {
    return body.getReader({ mode: "byob" });
  } catch {
    return null;
  }
}
