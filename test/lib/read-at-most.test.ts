// readAtMost gives the first `max` bytes of any stream (all of it if shorter) and stops reading there:
// a body longer than it declared is found without reading it all.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { readAtMost } from "../../src/lib/byte-chunks";
import { streamOf } from "./streams";

describe("readAtMost", () => {
  it("gives the first max bytes of a byte stream or a plain one, however it is cut", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 2_000 }), { maxLength: 10 }), fc.integer({ min: 1, max: 12_000 }), fc.boolean(), async (pieces, max, bytes) => {
        const all = new Uint8Array(pieces.flatMap((p) => [...p]));
        expect(await readAtMost(streamOf(pieces, bytes ? "bytes" : undefined), max)).toEqual(all.subarray(0, max));
      }),
      { numRuns: 150 },
    );
  });

  it("stops reading at max, and cancels the rest of an endless body", async () => {
    let pulled = 0;
    let cancelled = false;
    const source: UnderlyingByteSource = {
      type: "bytes",
      pull(controller) {
        pulled += 1_000;
        controller.enqueue(new Uint8Array(1_000).fill(7));
      },
      cancel() {
        cancelled = true;
      },
    };
    const endless = new ReadableStream(source) as ReadableStream<Uint8Array>;
    const head = await readAtMost(endless, 2_501);
    expect(head.byteLength).toBe(2_501);
    expect(pulled).toBeLessThanOrEqual(4_000);
    expect(cancelled).toBe(true);
  });
});
