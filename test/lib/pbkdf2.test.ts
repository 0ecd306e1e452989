import { describe, expect, it } from "vitest";
import { pbkdf2JsForTests, pbkdf2Sha256 } from "../../src/lib/pbkdf2";

async function webCrypto(password: string, salt: string, iterations: number, bytes = 32) {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: new TextEncoder().encode(salt), iterations }, key, bytes * 8));
}

describe("PBKDF2-HMAC-SHA256", () => {
  it("matches the RFC 7914 test vector", () => {
    const hex = [...pbkdf2JsForTests("passwd", "salt", 1, 64)].map((b) => b.toString(16).padStart(2, "0")).join("");
    expect(hex).toBe("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
  });

  it.each([
    ["pw", "salt", 1],
    ["p".repeat(100), "a long salt with unicode ✓", 7],
    ["correct horse", "s", 1_000],
    ["é", "", 2],
  ])("the plain-JS path agrees with WebCrypto (%s / %s / %i)", async (password, salt, iterations) => {
    expect(pbkdf2JsForTests(password, salt, iterations)).toEqual(await webCrypto(password, salt, iterations));
  });

  it("takes the plain-JS path above Workers' 100,000-iteration WebCrypto ceiling, with the same result", async () => {
    expect(await pbkdf2Sha256("secret", "NaCl", 120_000)).toEqual(await webCrypto("secret", "NaCl", 120_000));
    await expect(pbkdf2Sha256("x", "y", 5_000_000)).rejects.toThrow("unsupported iteration count");
  });
});
