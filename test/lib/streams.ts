/** A stream that sends `pieces` as they are (empty ones left out): a byte stream (BYOB-readable) with `type: "bytes"`, else a plain one. */
export function streamOf(pieces: Uint8Array[], type?: "bytes"): ReadableStream<Uint8Array> {
  const queue = pieces.filter((p) => p.byteLength > 0);
  let next = 0;
  return new ReadableStream({ type, pull: (c) => (next < queue.length ? c.enqueue(queue[next++]!.slice()) : c.close()) } as UnderlyingByteSource);
}
