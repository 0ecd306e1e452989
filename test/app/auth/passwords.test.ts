import { pbkdf2Sync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { passwordWorkFactor } from "../../../src/app/auth/passwords";
import { TEST_PASSWORD_ITERATIONS } from "../../config";
import { apiJson } from "../../helpers";
import { djangoHash, insertUser, storedHash } from "./users";

const login = (username: string, password: string, ip: string) => apiJson("/api/accounts/login/", { username, password }, { headers: { "cf-connecting-ip": ip } });

/** True if legacy Django would accept `password` against `hash` (its PBKDF2PasswordHasher.verify). */
function djangoVerifies(hash: string, password: string): boolean {
  const [algorithm, iterations, salt, expected] = hash.split("$");
  return algorithm === "pbkdf2_sha256" && pbkdf2Sync(password, salt!, Number(iterations), 32, "sha256").toString("base64") === expected;
}

describe("password work factor", () => {
  it("never re-hashes a stored hash stronger than the work factor downwards", async () => {
    // 120,000 iterations: above both the configured work factor and WebCrypto's production ceiling.
    const strong = djangoHash("strong-pass-1", 120_000);
    await insertUser("strong-hash-user", strong);
    expect((await login("strong-hash-user", "strong-pass-1", "203.0.113.50")).status).toBe(200);
    expect(await storedHash("strong-hash-user")).toBe(strong);
  });

  it("re-hashes a weaker stored hash at the configured work factor, in a format legacy Django verifies", async () => {
    await insertUser("weak-hash-user", djangoHash("weak-pass-12", 1_000));
    expect((await login("weak-hash-user", "weak-pass-12", "203.0.113.51")).status).toBe(200);
    const upgraded = await storedHash("weak-hash-user");
    expect(upgraded).toMatch(new RegExp(`^pbkdf2_sha256\\$${TEST_PASSWORD_ITERATIONS}\\$[A-Za-z0-9]{22}\\$`));
    expect(djangoVerifies(upgraded, "weak-pass-12")).toBe(true);
    // Checked at exactly the work factor now: not outdated, so left alone on the next login.
    expect((await login("weak-hash-user", "weak-pass-12", "203.0.113.51")).status).toBe(200);
    expect(await storedHash("weak-hash-user")).toBe(upgraded);
  });

  it("hashes registrations at the configured work factor", async () => {
    expect((await apiJson("/api/accounts/register/", { username: "fresh-user", password: "fresh-pass-1", password2: "fresh-pass-1" })).status).toBe(201);
    const hash = await storedHash("fresh-user");
    expect(hash.split("$")[1]).toBe(String(TEST_PASSWORD_ITERATIONS));
    expect(djangoVerifies(hash, "fresh-pass-1")).toBe(true);
  });

  it("refuses, unchecked, a stored hash claiming an absurd iteration count", async () => {
    await insertUser("absurd-hash-user", `pbkdf2_sha256$5000000$somesalt$${"A".repeat(43)}=`);
    const started = performance.now();
    expect((await login("absurd-hash-user", "anything-at-all", "203.0.113.52")).status).toBe(401);
    // 5,000,000 iterations would take seconds; refused, it costs one check at the work factor.
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("reads PASSWORD_ITERATIONS: 600,000 by default, integers below 10,000,000 only", () => {
    expect(passwordWorkFactor({})).toBe(600_000);
    expect(passwordWorkFactor({ PASSWORD_ITERATIONS: "20000" })).toBe(20_000);
    expect(passwordWorkFactor({ PASSWORD_ITERATIONS: "870000" })).toBe(870_000);
    expect(passwordWorkFactor({ PASSWORD_ITERATIONS: "9999999" })).toBe(9_999_999);
    for (const bad of ["", "abc", "600000.5", "6e5", "-600000", "0", "9999", "10000000", "1000000000000"]) {
      expect(() => passwordWorkFactor({ PASSWORD_ITERATIONS: bad }), bad).toThrow("PASSWORD_ITERATIONS");
    }
  });
});
