import { describe, expect, it } from "vitest";
import { MAX_ITERATIONS, pbkdf2Sha256, WEBCRYPTO_MAX_ITERATIONS } from "../../src/lib/pbkdf2";

async function webCrypto(password: string, salt: string, iterations: number, bytes = 32) {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: new TextEncoder().encode(salt), iterations }, key, bytes * 8));
}

describe("PBKDF2-HMAC-SHA256", () => {
  it("matches the RFC 7914 test vector, on both paths", async () => {
    const expected = "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783";
    for (const noble of [false, true]) {
      const hex = [...(await pbkdf2Sha256("passwd", "salt", 1, { bytes: 64, noble }))].map((b) => b.toString(16).padStart(2, "0")).join("");
      expect(hex, `noble: ${noble}`).toBe(expected);
    }
  });

  it.each([
    ["pw", "salt", 1],
    ["p".repeat(100), "a long salt with unicode ✓", 7],
    ["correct horse", "s", 1_000],
    ["é", "", 2],
  ])("the @noble/hashes path agrees with WebCrypto (%s / %s / %i)", async (password, salt, iterations) => {
    expect(await pbkdf2Sha256(password, salt, iterations, { noble: true })).toEqual(await webCrypto(password, salt, iterations));
  });

  it("takes the @noble/hashes path above Workers' 100,000-iteration WebCrypto ceiling, with the same result", async () => {
    expect(WEBCRYPTO_MAX_ITERATIONS).toBe(100_000);
    expect(await pbkdf2Sha256("secret", "NaCl", 120_000)).toEqual(await webCrypto("secret", "NaCl", 120_000));
  });

  it("refuses absurd iteration counts outright", async () => {
    expect(MAX_ITERATIONS).toBe(9_999_999);
    for (const count of [10_000_000, 2 ** 40, 0, -5, 1.5, Number.NaN]) {
      await expect(pbkdf2Sha256("x", "y", count), String(count)).rejects.toThrow("unsupported iteration count");
      await expect(pbkdf2Sha256("x", "y", count, { noble: true }), String(count)).rejects.toThrow("unsupported iteration count");
    }
  });
});
