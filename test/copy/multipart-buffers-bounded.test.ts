// Bodies of unknown length go to R2 in 8 MiB multipart parts; however many are copied at once in an
// isolate, at most MAX_PART_BUFFERS part buffers are held (the rest wait), and every object is whole.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_PART_BUFFERS, putStream } from "../../src/copy/r2-writer";
import { sha256Hex } from "../helpers";

/** Deterministic bytes of `size`, in uneven chunks, as an origin without a Content-Length sends them. */
function generated(size: number, seed: number): ReadableStream<Uint8Array> {
  let sent = 0;
  let state = seed;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      const n = Math.min(size - sent, 200_000 + (sent % 65_537));
      const chunk = new Uint8Array(n);
      for (let i = 0; i < n; i += 4096) chunk[i] = (state = (state * 1103515245 + 12345) >>> 0) >>> 24;
      sent += n;
      controller.enqueue(chunk);
    },
  });
}

function bound(target: object, prop: string | symbol): unknown {
  const value: unknown = Reflect.get(target, prop);
  return typeof value === "function" ? value.bind(target) : value;
}

/** The bucket, counting the multipart uploads open at once (created, not yet completed or aborted). */
function countingBucket(bucket: R2Bucket) {
  const counts = { open: 0, most: 0, created: 0 };
  const wrapped = new Proxy(bucket, {
    get(target, prop) {
      if (prop !== "createMultipartUpload") return bound(target, prop);
      return async (key: string, options?: R2MultipartOptions) => {
        const upload = await target.createMultipartUpload(key, options);
        counts.created++;
        counts.most = Math.max(counts.most, ++counts.open);
        const end = <T>(p: Promise<T>) => p.finally(() => counts.open--);
        return new Proxy(upload, {
          get(u, p) {
            if (p === "complete") return (parts: R2UploadedPart[]) => end(u.complete(parts));
            if (p === "abort") return () => end(u.abort());
            return bound(u, p);
          },
        });
      };
    },
  });
  return { bucket: wrapped, counts };
}

describe("multipart part buffers", () => {
  it(`are at most ${MAX_PART_BUFFERS} at once in an isolate, whatever the number of bodies copied at once`, async () => {
    const { bucket, counts } = countingBucket(env.FILES);
    const sizes = [17, 9, 20, 12, 16, 3].map((mib, i) => mib * 1024 * 1024 + i * 1_001);
    const expected = await Promise.all(sizes.map((size, i) => sha256Hex(generated(size, i + 1))));
    await Promise.all(sizes.map((size, i) => putStream(bucket, `test/bounded-${i}.bin`, generated(size, i + 1), null, {})));
    // Five bodies pass one part (the 3 MiB one is a single put): five uploads, never more than the buffers.
    expect(counts.created).toBe(5);
    expect(counts.most).toBeLessThanOrEqual(MAX_PART_BUFFERS);
    expect(counts.open).toBe(0);
    for (const [i, size] of sizes.entries()) {
      const object = await env.FILES.get(`test/bounded-${i}.bin`);
      expect(object!.size).toBe(size);
      expect(await sha256Hex(object!.body)).toBe(expected[i]);
    }
  });

  it("are given back when a body fails part-way, so later copies are not starved", async () => {
    // Each fails after its first part is full and uploaded: it held a buffer, and must give it back.
    const failing = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new Uint8Array(9 * 1024 * 1024));
          controller.error(new Error("origin reset"));
        },
      });
    for (let i = 0; i < MAX_PART_BUFFERS + 1; i++) await expect(putStream(env.FILES, `test/failing-${i}.bin`, failing(), null, {})).rejects.toThrow("origin reset");
    await putStream(env.FILES, "test/after-failures.bin", generated(9 * 1024 * 1024, 9), null, {});
    expect((await env.FILES.head("test/after-failures.bin"))!.size).toBe(9 * 1024 * 1024);
    expect(await env.FILES.head("test/failing-0.bin")).toBeNull();
  });
});

describe("bodies of unknown length that stay small", () => {
  it("take no part buffer: they go on while every buffer is held", async () => {
    // Bodies that fill a buffer, then stall (a slow client), hold every copy buffer of the isolate.
    const stalls: ReadableStreamDefaultController<Uint8Array>[] = [];
    const stalled = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new Uint8Array(300 * 1024));
          stalls.push(controller);
        },
      });
    const holders = Array.from({ length: MAX_PART_BUFFERS }, (_, i) => putStream(env.FILES, `test/stalled-${i}.bin`, stalled(), null, {}));
    await new Promise((r) => setTimeout(r, 50));
    await putStream(env.FILES, "test/small-while-busy.bin", generated(200 * 1024, 3), null, {});
    expect((await env.FILES.head("test/small-while-busy.bin"))!.size).toBe(200 * 1024);
    for (const controller of stalls) controller.close();
    await Promise.all(holders);
    expect((await env.FILES.head("test/stalled-0.bin"))!.size).toBe(300 * 1024);
  });
});
