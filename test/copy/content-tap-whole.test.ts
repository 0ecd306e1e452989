// A body taken whole (one call per digest, no streams) gives the very result of the same bytes pushed
// chunk by chunk, however they are cut: size, SHA-256, MD5, rows and columns (the header is the first
// line that is not blank); the limit still holds, and whole() refuses a tap that was already pushed to.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ContentTap, TooLargeError } from "../../src/copy/content-tap";

const encoder = new TextEncoder();
const cell = fc.oneof(fc.stringMatching(/^[a-z0-9 ]{0,8}$/), fc.stringMatching(/^[a-z,\n"]{0,6}$/).map((s) => `"${s.replaceAll('"', '""')}"`));
const newline = fc.constantFrom("\n", "\r\n");
/** CSV text, maybe after blank lines, with empty and quoted cells (quoted line feeds and commas too). */
const csv = fc
  .tuple(fc.array(newline, { maxLength: 3 }), fc.array(fc.array(cell, { minLength: 1, maxLength: 4 }), { maxLength: 30 }), newline)
  .map(([blank, rows, nl]) => blank.join("") + rows.map((r) => r.join(",")).join(nl));

async function pushed(bytes: Uint8Array, sizes: number[], md5: boolean) {
  const tap = new ContentTap(1_000_000, { md5 });
  let i = 0;
  for (const size of sizes.length > 0 ? sizes : [bytes.length]) {
    if (i >= bytes.length) break;
    await tap.push(bytes.subarray(i, i + Math.max(1, size)));
    i += Math.max(1, size);
  }
  if (i < bytes.length) await tap.push(bytes.subarray(i));
  return tap.result();
}

describe("a body taken whole", () => {
  it("has the result of the same bytes pushed in chunks", async () => {
    await fc.assert(
      fc.asyncProperty(csv, fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 20 }), fc.boolean(), async (text, sizes, md5) => {
        const bytes = encoder.encode(text);
        expect(await new ContentTap(1_000_000, { md5 }).whole(bytes)).toEqual(await pushed(bytes, sizes, md5));
      }),
      { numRuns: 200 },
    );
  });

  it("is refused past the limit, and only by a tap that was not pushed to nor taken whole", async () => {
    await expect(new ContentTap(10).whole(new Uint8Array(11))).rejects.toBeInstanceOf(TooLargeError);
    const tap = new ContentTap(100);
    await tap.push(encoder.encode("a,b\n"));
    await expect(tap.whole(encoder.encode("1,2\n"))).rejects.toThrow("not pushed");
    const once = new ContentTap(100);
    await once.whole(encoder.encode("a\n"));
    await expect(once.whole(encoder.encode("b\n"))).rejects.toThrow("not pushed");
    await expect(once.result()).rejects.toThrow("whole()");
    const blankFirst = await new ContentTap(100).whole(encoder.encode("\r\n\nid, name\n1,a\n"));
    expect(blankFirst.shape).toEqual({ rowCount: 1, columnCount: 2, columns: ["id", "name"] });
    const empty = await new ContentTap(100, { md5: true }).whole(new Uint8Array(0));
    expect(empty).toMatchObject({ bytes: 0, sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", md5: "d41d8cd98f00b204e9800998ecf8427e", shape: { rowCount: 0, columnCount: 0 } });
  });
});
