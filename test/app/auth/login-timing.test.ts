import { describe, expect, it } from "vitest";
import { TEST_PASSWORD_ITERATIONS } from "../../config";
import { apiJson } from "../../helpers";
import { djangoHash, insertUser, median } from "./users";

const ROUNDS = 15;

/** Milliseconds a failed login takes. Each attempt has its own address, so that none is rate-limited. */
async function failedLoginMs(username: string, ip: string): Promise<number> {
  const started = performance.now();
  const res = await apiJson("/api/accounts/login/", { username, password: "not-the-password" }, { headers: { "cf-connecting-ip": ip } });
  const elapsed = performance.now() - started;
  expect(res).toEqual({ status: 401, body: { detail: "No active account found with the given credentials" } });
  return elapsed;
}

/** Median failed-login times for unknown usernames and for existing users, interleaved so that drift hits both alike. */
async function compare(prefix: string, storedIterations: number): Promise<{ unknown: number; existing: number }> {
  const unknown: number[] = [];
  const existing: number[] = [];
  for (let i = 0; i < ROUNDS; i++) await insertUser(`${prefix}-${i}`, djangoHash(`right-password-${i}`, storedIterations));
  await failedLoginMs(`${prefix}-warm-up`, "198.18.0.1");
  for (let i = 0; i < ROUNDS; i++) {
    unknown.push(await failedLoginMs(`${prefix}-nobody-${i}`, `198.18.1.${i}`));
    existing.push(await failedLoginMs(`${prefix}-${i}`, `198.18.2.${i}`));
  }
  return { unknown: median(unknown), existing: median(existing) };
}

function expectSimilar({ unknown, existing }: { unknown: number; existing: number }): void {
  const ratio = Math.max(unknown, existing) / Math.min(unknown, existing);
  expect(ratio, `median unknown ${unknown.toFixed(1)} ms, existing ${existing.toFixed(1)} ms`).toBeLessThan(1.5);
}

describe("login timing does not tell whether a user exists", () => {
  it("an unknown username costs as much as a user whose hash has the work factor", async () => {
    expectSimilar(await compare("timed-user", TEST_PASSWORD_ITERATIONS));
  });

  it("an unknown username costs as much as a legacy user with a weaker hash (topped up to the work factor)", async () => {
    expectSimilar(await compare("timed-legacy", 1_000));
  });
});
