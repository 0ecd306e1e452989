/** Multipart part size for bodies of unknown length: bounded memory, R2's 5 MiB minimum respected. */
const PART_BYTES = 8 * 1024 * 1024;

/**
 * Streams `body` into R2 without holding it whole. With a known length the stream goes straight
 * into put() through a FixedLengthStream (which also rejects a short body); without one, the body is
 * uploaded in fixed-size multipart parts, one part in memory at a time.
 */
export async function putStream(bucket: R2Bucket, key: string, body: ReadableStream<Uint8Array>, length: number | null, options: R2PutOptions): Promise<void> {
  if (length === null) return putUnknownLength(bucket, key, body, options);
  const fixed = new FixedLengthStream(length);
  const [pipe, put] = await Promise.allSettled([body.pipeTo(fixed.writable), bucket.put(key, fixed.readable, options)]);
  // A failing source is the cause; the put's own error is then only a consequence.
  if (pipe.status === "rejected") throw pipe.reason;
  if (put.status === "rejected") throw put.reason;
}

async function putUnknownLength(bucket: R2Bucket, key: string, body: ReadableStream<Uint8Array>, options: R2PutOptions): Promise<void> {
  const reader = body.getReader();
  let part = new Uint8Array(PART_BYTES);
  let filled = 0;
  let upload: R2MultipartUpload | null = null;
  const parts: R2UploadedPart[] = [];
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let offset = 0;
      while (offset < value.byteLength) {
        const n = Math.min(PART_BYTES - filled, value.byteLength - offset);
        part.set(value.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
        if (filled === PART_BYTES) {
          upload ??= await bucket.createMultipartUpload(key, options);
          parts.push(await upload.uploadPart(parts.length + 1, part));
          part = new Uint8Array(PART_BYTES);
          filled = 0;
        }
      }
    }
    if (!upload) {
      await bucket.put(key, part.subarray(0, filled), options);
      return;
    }
    if (filled > 0) parts.push(await upload.uploadPart(parts.length + 1, part.subarray(0, filled)));
    await upload.complete(parts);
  } catch (e) {
    await upload?.abort().catch(() => {});
    await reader.cancel().catch(() => {});
    throw e;
  }
}
