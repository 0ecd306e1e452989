import { describe, expect, it } from "vitest";
import { CsvChunkParser, CsvRecordTooLargeError, DEFAULT_MAX_RECORD_BYTES, type CsvRecord } from "../../src/lib/csv";

const encoder = new TextEncoder();
const MiB = 1024 * 1024;

/**
 * Pushes `head`, then `fill` repeated in 4 KiB chunks until `total` bytes, then ends: stops with a
 * failure as soon as `budgetMs` has passed (so that a quadratic parser fails fast rather than spin).
 */
function feed(parser: CsvChunkParser, head: string, fill: string, total: number, budgetMs: number) {
  const start = performance.now();
  const records: CsvRecord[] = [];
  let error: unknown = null;
  let fed = 0;
  const chunk = encoder.encode(fill.repeat(Math.ceil(4096 / fill.length)).slice(0, 4096));
  try {
    records.push(...parser.push(encoder.encode(head)));
    for (fed = head.length; fed < total; fed += chunk.length) {
      if (performance.now() - start > budgetMs) throw new Error(`still going after ${fed} bytes and ${budgetMs} ms`);
      records.push(...parser.push(chunk));
    }
    records.push(...parser.end());
  } catch (e) {
    error = e;
  }
  return { records, error, fed, ms: performance.now() - start };
}

describe("CsvChunkParser refuses a record longer than its cap", () => {
  it.each([
    ["a 20 MiB line", "id,name\n1,Ann\n2,", "x"],
    ["a 20 MiB unterminated quote over many lines", 'id,name\n1,Ann\n2,"', "text, more text\n"],
    ["a 20 MiB line with quotes in it", 'id,name\n1,Ann\n2,a"b', 'x"'],
  ])("%s: throws soon after the cap, having given the records before it", (_name, head, fill) => {
    const out = feed(new CsvChunkParser(), head, fill, 20 * MiB, 1_000);
    expect(out.error).toBeInstanceOf(CsvRecordTooLargeError);
    expect((out.error as CsvRecordTooLargeError).limit).toBe(DEFAULT_MAX_RECORD_BYTES);
    expect(out.fed).toBeLessThan(DEFAULT_MAX_RECORD_BYTES + 64 * 1024);
    expect(out.records.map((r) => r.fields)).toEqual([["id", "name"], ["1", "Ann"]]);
    expect(out.ms).toBeLessThan(1_000);
  });

  it("throws before any newline has been seen (the newline style is still unknown)", () => {
    const out = feed(new CsvChunkParser({ maxRecordBytes: 64 * 1024 }), "", "y", 20 * MiB, 1_000);
    expect(out.error).toBeInstanceOf(CsvRecordTooLargeError);
    expect(out.fed).toBeLessThanOrEqual(64 * 1024 + 4096);
  });

  it("takes a record of up to the cap", () => {
    const cap = 256 * 1024;
    const long = "z".repeat(cap - 1);
    const parser = new CsvChunkParser({ maxRecordBytes: cap });
    const text = encoder.encode(`a\n${long}\nb\n`);
    const records: CsvRecord[] = [];
    for (let i = 0; i < text.length; i += 1000) records.push(...parser.push(text.subarray(i, i + 1000)));
    records.push(...parser.end());
    expect(records.map((r) => r.fields[0]!.length)).toEqual([1, cap - 1, 1]);
    const over = new CsvChunkParser({ maxRecordBytes: cap });
    expect(over.push(encoder.encode(`a\n${long}zz`)).map((r) => r.fields)).toEqual([["a"]]);
    expect(() => over.end()).toThrow(CsvRecordTooLargeError);
  });
});
