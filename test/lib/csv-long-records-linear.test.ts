import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CsvChunkParser, type CsvRecord } from "../../src/lib/csv";

const encoder = new TextEncoder();

/** Parses `bytes` in chunks of the given sizes (cycled), failing fast once `budgetMs` has passed. */
function parse(bytes: Uint8Array, sizes: number[], budgetMs = Infinity, maxRecordBytes?: number): { records: CsvRecord[]; ms: number } {
  const parser = new CsvChunkParser({ positions: true, maxRecordBytes });
  const start = performance.now();
  const records: CsvRecord[] = [];
  for (let i = 0, k = 0; i < bytes.length; k++) {
    if (performance.now() - start > budgetMs) throw new Error(`still going at byte ${i} after ${budgetMs} ms`);
    const size = sizes[k % sizes.length]!;
    records.push(...parser.push(bytes.subarray(i, i + size)));
    i += size;
  }
  records.push(...parser.end());
  return { records, ms: performance.now() - start };
}

const view = (records: CsvRecord[]) => records.map((r) => ({ fields: r.fields, line: r.line, nextLine: r.nextLine, endByte: r.endByte, error: r.error }));

describe("CsvChunkParser on long records", () => {
  it.each([
    ["one long line", "x".repeat(1000 * 1000)],
    ["a long quoted field over many lines", `"${"text, more\n".repeat(90_000)}"`],
    ["a long line of many fields with stray quotes", 'a"b,'.repeat(240_000)],
  ])("%s, in 256-byte chunks, is parsed in linear time with the same records", (_name, long) => {
    const bytes = encoder.encode(`id,value\n1,${long}\n2,short\n`);
    const whole = parse(bytes, [bytes.length]);
    const chunked = parse(bytes, [256], 1_000);
    expect(view(chunked.records)).toEqual(view(whole.records));
    expect(chunked.records.map((r) => r.fields[0])).toEqual(["id", "1", "2"]);
    expect(chunked.records[1]!.endByte).toBe(bytes.length - "2,short\n".length);
    expect(chunked.ms).toBeLessThan(300);
  });

  it("gives the same records, lines and offsets whatever the chunking (generated CSV)", () => {
    const piece = fc.constantFrom("a", "bc", ",", '"', '""', "\n", "\r\n", "\r", "\n\n", "x,y", "é", "😀", " ", "\uFEFF");
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 60 }), fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 8 }), fc.boolean(), (pieces, sizes, bom) => {
        const text = encoder.encode(pieces.join(""));
        const bytes = bom ? new Uint8Array([0xef, 0xbb, 0xbf, ...text]) : text;
        expect(view(parse(bytes, sizes).records)).toEqual(view(parse(bytes, [bytes.length || 1]).records));
      }),
      { numRuns: 3_000 },
    );
  });
});
