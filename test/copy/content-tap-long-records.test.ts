import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ContentTap, RecordCounter } from "../../src/copy/content-tap";
import { CsvRecordTooLargeError } from "../../src/lib/csv";

const encoder = new TextEncoder();
const MiB = 1024 * 1024;

/** Pushes `head` then `fill` in 4 KiB chunks up to `total` bytes, failing fast once `budgetMs` has passed. */
async function pushAll(tap: ContentTap, head: string, fill: string, total: number, budgetMs: number): Promise<{ error: unknown; pushed: number; ms: number }> {
  const chunk = encoder.encode(fill.repeat(Math.ceil(4096 / fill.length)).slice(0, 4096));
  const start = performance.now();
  let pushed = 0;
  try {
    await tap.push(encoder.encode(head));
    for (pushed = head.length; pushed < total; pushed += chunk.length) {
      if (performance.now() - start > budgetMs) throw new Error(`still going after ${pushed} bytes and ${budgetMs} ms`);
      await tap.push(chunk);
    }
    return { error: null, pushed, ms: performance.now() - start };
  } catch (error) {
    return { error, pushed, ms: performance.now() - start };
  }
}

/** The longest record by the counter's rule, one byte at a time: a record ends at a line feed outside quotes. */
function longestRecord(bytes: Uint8Array): number {
  let inQuotes = false;
  let length = 0;
  let longest = 0;
  for (const b of bytes) {
    if (b === 0x0a && !inQuotes) {
      length = 0;
      continue;
    }
    if (b === 0x22) inQuotes = !inQuotes;
    longest = Math.max(longest, ++length);
  }
  return longest;
}

describe("ContentTap on long records", () => {
  it("copies a 20 MiB body with no line break in linear time, giving up on the header", async () => {
    const tap = new ContentTap(Number.MAX_SAFE_INTEGER);
    const out = await pushAll(tap, "", "a,b,", 20 * MiB, 2_000);
    expect(out.error).toBeNull();
    expect(out.ms).toBeLessThan(2_000);
    const result = await tap.result();
    expect(result.bytes).toBe(out.pushed);
    expect(result.shape).toEqual({ rowCount: 0, columnCount: 0, columns: [] });
  });

  it("copies a body with a 20 MiB unterminated quote in linear time", async () => {
    const tap = new ContentTap(Number.MAX_SAFE_INTEGER);
    const out = await pushAll(tap, 'id,"name\n1,', "x\n", 20 * MiB, 2_000);
    expect(out.error).toBeNull();
    expect((await tap.result()).bytes).toBe(out.pushed);
  });

  it("refuses a record past maxRecordBytes as soon as it is pushed, when asked", async () => {
    const tap = new ContentTap(Number.MAX_SAFE_INTEGER, { maxRecordBytes: MiB });
    const out = await pushAll(tap, "id,name\n1,Ann\n2,", "x", 20 * MiB, 2_000);
    expect(out.error).toBeInstanceOf(CsvRecordTooLargeError);
    expect(out.pushed).toBeGreaterThan(MiB - 4096);
    expect(out.pushed).toBeLessThanOrEqual(MiB + 4096);

    const whole = new ContentTap(Number.MAX_SAFE_INTEGER, { maxRecordBytes: 10 });
    await whole.push(encoder.encode("id,name\n1,0123456\n"));
    await expect(whole.push(encoder.encode("2,012345678\n3,x\n"))).rejects.toBeInstanceOf(CsvRecordTooLargeError);
  });
});

describe("RecordCounter's record cap", () => {
  it("throws exactly when a record is longer than the cap, whatever the chunking", () => {
    const piece = fc.constantFrom("a", "bcd", ",", '"', "\n", "\r\n", "\n\n", "xxxxxxxx");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 7 }), (pieces, cap, size) => {
        const bytes = encoder.encode(pieces.join(""));
        const counter = new RecordCounter(cap);
        let threw = false;
        try {
          for (let i = 0; i < bytes.length; i += size) counter.push(bytes.subarray(i, i + size));
        } catch (e) {
          expect(e).toBeInstanceOf(CsvRecordTooLargeError);
          threw = true;
        }
        expect(threw).toBe(longestRecord(bytes) > cap);
      }),
      { numRuns: 3_000 },
    );
  });

  it("never throws without a cap", () => {
    const counter = new RecordCounter();
    counter.push(new Uint8Array(8 * MiB).fill(0x61));
    expect(counter.end()).toBe(1);
  });
});
