// byteChunks reads a byte stream into one buffer, refilled for every chunk: the bytes come out whole
// and in order for any split and read size, the chunk before is handed to the next read (it is
// detached once the loop moves on), and a consumer that takes a chunk's memory away gets a new buffer.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { byteChunks } from "../../src/lib/byte-chunks";
import { streamOf } from "./streams";

function joined(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

const pieces = fc.array(fc.uint8Array({ minLength: 0, maxLength: 3_000 }), { maxLength: 12 });

describe("byteChunks", () => {
  it("yields every byte in order, in full chunks of the read size but the last, for any split", async () => {
    await fc.assert(
      fc.asyncProperty(pieces, fc.integer({ min: 1, max: 5_000 }), async (sent, size) => {
        const copies: Uint8Array[] = [];
        for await (const chunk of byteChunks(streamOf(sent, "bytes"), size)) copies.push(chunk.slice());
        expect(joined(copies)).toEqual(joined(sent));
        copies.slice(0, -1).forEach((c) => expect(c.byteLength).toBe(size));
        expect(copies.every((c) => c.byteLength > 0 && c.byteLength <= size)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it("refills one buffer: the chunk before is handed to the next read", async () => {
    const body = new Response(new Uint8Array(100_000).map((_, i) => i % 251)).body!;
    let previous: Uint8Array | null = null;
    let chunks = 0;
    for await (const chunk of byteChunks(body, 16_384)) {
      if (previous) expect(previous.byteLength).toBe(0);
      expect(chunk[0]).toBe((chunks * 16_384) % 251);
      previous = chunk;
      chunks++;
    }
    expect(chunks).toBe(7);
  });

  it("reads into a new buffer when the consumer took the last one's memory", async () => {
    const sent = [new Uint8Array(5_000).fill(1), new Uint8Array(5_000).fill(2), new Uint8Array(1_000).fill(3)];
    const taken: ArrayBuffer[] = [];
    for await (const chunk of byteChunks(streamOf(sent, "bytes"), 4_096)) {
      const [from, to] = [chunk.byteOffset, chunk.byteOffset + chunk.byteLength];
      const memory = chunk.buffer as ArrayBuffer;
      taken.push(structuredClone(memory, { transfer: [memory] }).slice(from, to));
    }
    expect(joined(taken.map((b) => new Uint8Array(b)))).toEqual(joined(sent));
  });

  it("reads a stream that is not a byte stream as it comes", async () => {
    const sent = [new Uint8Array([1, 2, 3]), new Uint8Array([4])];
    const got: Uint8Array[] = [];
    for await (const chunk of byteChunks(streamOf(sent), 2)) got.push(chunk);
    expect(got).toEqual(sent);
  });
});
