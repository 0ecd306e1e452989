// Base64 and base64url of any bytes round-trip, match RFC 4648's test vectors, and base64url is
// unpadded and URL-safe.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromBase64, fromBase64Url, toBase64, toBase64Url } from "../../src/lib/base64";

const bytes = (text: string) => new TextEncoder().encode(text);

describe("base64", () => {
  it("matches RFC 4648's vectors", () => {
    const vectors: [string, string][] = [["", ""], ["f", "Zg=="], ["fo", "Zm8="], ["foo", "Zm9v"], ["foob", "Zm9vYg=="], ["fooba", "Zm9vYmE="], ["foobar", "Zm9vYmFy"]];
    for (const [plain, encoded] of vectors) {
      expect(toBase64(bytes(plain))).toBe(encoded);
      expect(fromBase64(encoded)).toEqual(bytes(plain));
    }
    expect(toBase64Url(new Uint8Array([0xfb, 0xff, 0xbf]))).toBe("-_-_");
  });

  it("round-trips any bytes, base64url without padding or +/", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3_000 }), (data) => {
        expect(fromBase64(toBase64(data))).toEqual(data);
        const url = toBase64Url(data);
        expect(url).toMatch(/^[A-Za-z0-9_-]*$/);
        expect(fromBase64Url(url)).toEqual(data);
      }),
    );
    expect(() => fromBase64("not base64!")).toThrow();
  });
});
