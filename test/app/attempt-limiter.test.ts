import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limiterNames } from "../../src/app/attempt-limits";

const limiter = (name: string) => env.ATTEMPT_LIMITER.getByName(name);

describe("AttemptLimiter", () => {
  it("takes attempts atomically from a fixed window: of 10 at once with a limit of 3, exactly 3 pass", async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => limiter("parallel").attempt(3, 60)));
    expect(results.filter((r) => r.allowed)).toHaveLength(3);
    for (const denied of results.filter((r) => !r.allowed)) {
      expect(denied.retryAfter).toBeGreaterThan(0);
      expect(denied.retryAfter).toBeLessThanOrEqual(60);
    }
  });

  it("opens a new window once the last one has passed", async () => {
    expect(await limiter("window").attempt(1, 1)).toMatchObject({ allowed: true });
    expect(await limiter("window").attempt(1, 1)).toEqual({ allowed: false, retryAfter: 1 });
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await limiter("window").attempt(1, 1)).toMatchObject({ allowed: true });
  });

  it("clears the count on success, and gives back one attempt on refund", async () => {
    const a = limiter("clear");
    await a.attempt(1, 60);
    expect(await a.attempt(1, 60)).toMatchObject({ allowed: false });
    await a.succeeded();
    expect(await a.attempt(1, 60)).toMatchObject({ allowed: true });

    const b = limiter("refund");
    await b.attempt(2, 60);
    await b.attempt(2, 60);
    await b.refund();
    expect(await b.attempt(2, 60)).toMatchObject({ allowed: true });
    expect(await b.attempt(2, 60)).toMatchObject({ allowed: false });
  });

  it("keeps nothing once the window has closed, even if a refund comes late", async () => {
    const stub = limiter("expiring");
    await stub.attempt(5, 60);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await stub.refund();
    const tables = await runInDurableObject(stub, (_, state) => state.storage.sql.exec(`SELECT name FROM sqlite_master WHERE name = 'attempt_window'`).toArray());
    expect(tables).toEqual([]);
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeNull();
    expect(await stub.attempt(1, 60)).toMatchObject({ allowed: true });
  });
});

describe("limiter names", () => {
  it("are SHA-256 hex of the key, never the username itself, and tell usernames and addresses apart", async () => {
    const names = await limiterNames("Ünïcode-" + "x".repeat(142), "2001:db8::1");
    expect(Object.values(names)).toEqual([expect.stringMatching(/^[0-9a-f]{64}$/), expect.stringMatching(/^[0-9a-f]{64}$/)]);
    expect(names.pair).not.toBe(names.address);
    expect((await limiterNames("alice", "192.0.2.1")).pair).not.toBe((await limiterNames("alice", "192.0.2.2")).pair);
    expect((await limiterNames("alice", "192.0.2.1")).address).toBe((await limiterNames("bob", "192.0.2.1")).address);
    // Usernames are compared case-insensitively for limiting.
    expect((await limiterNames("Alice", "192.0.2.1")).pair).toBe((await limiterNames("alice", "192.0.2.1")).pair);
  });
});
