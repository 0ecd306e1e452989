import { describe, expect, it } from "vitest";
import { ContentTap, RecordCounter, TooLargeError } from "../../src/copy/content-tap";
import { CsvChunkParser } from "../../src/lib/csv";
import { sha256Hex } from "../helpers";

const encoder = new TextEncoder();

/** The counting rule, one byte at a time: a record ends at a line feed outside quotes; blank lines don't count. */
function referenceCount(bytes: Uint8Array): number {
  let inQuotes = false;
  let content = false;
  let count = 0;
  for (const b of bytes) {
    if (b === 0x22) (inQuotes = !inQuotes), (content = true);
    else if (b === 0x0a && !inQuotes) (count += content ? 1 : 0), (content = false);
    else if (b !== 0x0a && b !== 0x0d) content = true;
  }
  return count + (content ? 1 : 0);
}

function countInChunks(bytes: Uint8Array, sizes: () => number): number {
  const counter = new RecordCounter();
  for (let i = 0; i < bytes.length; ) {
    const n = sizes();
    counter.push(bytes.subarray(i, i + n));
    i += n;
  }
  return counter.end();
}

/** Deterministic pseudo-random numbers in [0, n). */
function random(seed: number): (n: number) => number {
  let s = seed;
  return (n) => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) % n;
}

describe("RecordCounter", () => {
  it("counts like the byte-by-byte rule on random text, whatever the chunking", () => {
    const pieces = ["a", "bc", ",", '"', '""', "\n", "\r\n", "\r", "\n\n", "x,y"];
    for (let seed = 1; seed <= 300; seed++) {
      const next = random(seed);
      const text = Array.from({ length: 1 + next(200) }, () => pieces[next(pieces.length)]).join("");
      const bytes = encoder.encode(text);
      const expected = referenceCount(bytes);
      expect(countInChunks(bytes, () => bytes.length || 1), JSON.stringify(text)).toBe(expected);
      expect(countInChunks(bytes, () => 1 + next(7)), JSON.stringify(text)).toBe(expected);
    }
  });

  it("agrees with the CSV parser on well-formed CSV with quoted newlines, CRLF and blank lines", () => {
    const lf = 'id,note\n1,"two\nlines"\n\n2,"say ""hi"""\n\n3,plain\n4,"a,b"';
    for (const csv of [lf, lf.replaceAll("\n", "\r\n")]) {
      const parser = new CsvChunkParser();
      const records = [...parser.push(encoder.encode(csv)), ...parser.end()];
      expect(records.length).toBe(5);
      expect(countInChunks(encoder.encode(csv), () => 3)).toBe(records.length);
    }
  });
});

describe("ContentTap", () => {
  it("gives size, SHA-256, MD5 and CSV shape from chunks pushed one by one, and refuses past its limit", async () => {
    const body = encoder.encode("id,name\n1,Ann\n2,Bob\n");
    const tap = new ContentTap(1_000, { md5: true });
    for (let i = 0; i < body.length; i += 5) await tap.push(body.subarray(i, i + 5));
    const result = await tap.result();
    expect(result).toMatchObject({ bytes: body.length, shape: { rowCount: 2, columnCount: 2, columns: ["id", "name"] } });
    expect(result.sha256).toBe(await sha256Hex(new Response(body).body!));
    expect(result.md5).toBe([...new Uint8Array(await crypto.subtle.digest("MD5", body))].map((b) => b.toString(16).padStart(2, "0")).join(""));

    const small = new ContentTap(10);
    await small.push(body.subarray(0, 10));
    await expect(small.push(body.subarray(10, 11))).rejects.toBeInstanceOf(TooLargeError);
  });
});
