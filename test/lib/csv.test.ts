import { describe, expect, it } from "vitest";
import { CsvChunkParser, csvRecordBatches } from "../../src/lib/csv";

const encoder = new TextEncoder();

/** Feeds `text` in chunks of `size` bytes and collects every record. */
function parseInChunks(text: string | Uint8Array, size: number, positions = true) {
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  const parser = new CsvChunkParser({ positions });
  const records = [];
  for (let i = 0; i < bytes.length; i += size) records.push(...parser.push(bytes.subarray(i, i + size)));
  records.push(...parser.end());
  return records;
}

const SAMPLE = 'id,name,note\n1,Ann,"multi\nline, with comma"\n2,Bøb,"say ""hi"""\n\n3,Zoë,\n';

describe("CsvChunkParser", () => {
  it.each([1, 2, 3, 7, 64, 4096])("gives the same records and offsets whatever the chunk size (%i bytes)", (size) => {
    const records = parseInChunks(SAMPLE, size);
    expect(records.map((r) => r.fields)).toEqual([
      ["id", "name", "note"],
      ["1", "Ann", "multi\nline, with comma"],
      ["2", "Bøb", 'say "hi"'],
      ["3", "Zoë", ""],
    ]);
    expect(records.map((r) => r.line)).toEqual([1, 2, 4, 6]);
    const bytes = encoder.encode(SAMPLE);
    // endByte points just past each record: the next record starts there.
    expect(new TextDecoder().decode(bytes.subarray(records[1]!.endByte, records[2]!.endByte))).toBe('2,Bøb,"say ""hi"""\n');
    expect(records.at(-1)!.endByte).toBe(bytes.length);
  });

  it("handles CRLF, a BOM and a last line without a newline", () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode("a,b\r\n1,2\r\n3,4")]);
    const records = parseInChunks(bom, 3);
    expect(records.map((r) => r.fields)).toEqual([["a", "b"], ["1", "2"], ["3", "4"]]);
    expect(records[0]!.endByte).toBe(3 + 5);
  });

  it("reports an unterminated quote on the record it starts", () => {
    const records = parseInChunks('a,b\n1,"open\n2,3\n', 4);
    expect(records[1]).toMatchObject({ line: 2, error: "Quoted field unterminated" });
  });

  it("resumes at a saved byte offset with the saved line number", async () => {
    const bytes = encoder.encode(SAMPLE);
    const all = parseInChunks(SAMPLE, 5);
    const resumeAt = all[1]!;
    const rest = [];
    for await (const batch of csvRecordBatches(new Blob([bytes.subarray(resumeAt.endByte)]).stream(), { positions: true, firstLine: resumeAt.nextLine })) rest.push(...batch);
    expect(rest.map((r) => [r.fields[0], r.line, resumeAt.endByte + r.endByte])).toEqual(all.slice(2).map((r) => [r.fields[0], r.line, r.endByte]));
  });

  it("refuses invalid UTF-8 when asked to be strict", () => {
    const parser = new CsvChunkParser({ strictUtf8: true });
    expect(() => parser.push(new Uint8Array([0x61, 0x2c, 0xe9, 0x0a]))).toThrow(TypeError);
  });
});
