import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { makePassword } from "../../src/app/auth/passwords";
import { Gate } from "../../src/cutover/gate";
import { MetricsBuffer } from "../../src/cutover/metrics-buffer";
import { INITIAL_CUTOVER, type CutoverState } from "../../src/cutover/state";
import { CutoverStateCache } from "../../src/cutover/state-cache";
import { UserDirectory } from "../../src/cutover/user-directory";
import { signJwt } from "../../src/lib/jwt";
import { TEST_LEGACY_JWT_SECRET } from "../config";
import { apiJson, originUrl, resetPrimaryCoordinator, worker } from "../helpers";

const token = (userId: number, secret: string) => signJwt({ token_type: "access", user_id: userId, jti: crypto.randomUUID(), iat: 1, exp: 2_000_000_000 }, secret);

/** A gate at `state` whose user directory reads D1 through `db`. */
function gateOver(db: D1Database, state: CutoverState) {
  const gate = new Gate(new CutoverStateCache(async () => state, 0), new MetricsBuffer(), new UserDirectory(db), async () => new Response("{}"));
  return async (path: string, init: RequestInit = {}) => {
    const ctx = createExecutionContext();
    const res = await gate.handle(new Request(`https://list-cutter.test${path}`, init), env, ctx);
    await waitOnExecutionContext(ctx);
    return res.headers.get("x-served-by");
  };
}

/** D1, counting the statements prepared on it. */
function countingDb(): { db: D1Database; reads: () => number } {
  let reads = 0;
  const db = { prepare: (sql: string) => (reads++, env.DB.prepare(sql)) } as unknown as D1Database;
  return { db, reads: () => reads };
}

const ALL_NEW: CutoverState = { ...INITIAL_CUTOVER, phase: "cutover", percent: 100 };

describe("what identifying a request costs", () => {
  it("asks D1 nothing about users named by forged tokens or unsigned cookies, and asks once per isolate about a genuine one", async () => {
    const { db, reads } = countingDb();
    const side = gateOver(db, ALL_NEW);
    for (let id = 40_001; id <= 40_050; id++) {
      expect(await side("/api/accounts/user/", { headers: { authorization: `Bearer ${await token(id, "an-attacker's-secret")}` } })).toBe("legacy");
      expect(await side("/files", { headers: { cookie: `lc_bucket=u${id}.AAAAAAAAAAAAAAAAAAAAAA` } })).toBe("workers");
    }
    expect(reads()).toBe(0);
    // Genuine tokens of users not imported yet: one read each, then remembered (for a while).
    for (let round = 0; round < 3; round++) {
      for (let id = 40_001; id <= 40_010; id++) expect(await side("/api/accounts/user/", { headers: { authorization: `Bearer ${await token(id, TEST_LEGACY_JWT_SECRET)}` } })).toBe("legacy");
    }
    expect(reads()).toBe(10);
  });
});

describe("when D1 cannot be read", () => {
  const down = { prepare: () => { throw new Error("D1 is down"); } } as unknown as D1Database;

  it("routes a login as an anonymous request (legacy while the percentage is 0), never as an unknown user", async () => {
    const atZero = gateOver(down, { ...INITIAL_CUTOVER, phase: "legacy", percent: 0 });
    expect(await atZero("/api/accounts/login/", { method: "POST", body: JSON.stringify({ username: "someone", password: "x" }), headers: { "cf-connecting-ip": "192.0.2.7" } })).toBe("legacy");
    const atHundred = gateOver(down, ALL_NEW);
    expect(await atHundred("/api/accounts/login/", { method: "POST", body: JSON.stringify({ username: "someone", password: "x" }), headers: { "cf-connecting-ip": "192.0.2.7" } })).toBe("workers");
  });

  it("keeps an imported user's requests on the new side, where the failure is measured, instead of moving them to legacy", async () => {
    const side = gateOver(down, ALL_NEW);
    expect(await side("/api/accounts/user/", { headers: { authorization: `Bearer ${await token(40_100, TEST_LEGACY_JWT_SECRET)}` } })).toBe("workers");
  });
});

describe("a username taken on both sides before the next sync", () => {
  let accounts: unknown;
  afterAll(async () => {
    if (accounts) await fetch(`${originUrl}/__accounts`, { method: "PUT", body: JSON.stringify(accounts) });
    await resetPrimaryCoordinator();
  });

  it("lets each of the two users log in on their own side: the new app's first, then legacy's if the new app refuses the password", async () => {
    await resetPrimaryCoordinator();
    accounts = await (await fetch(`${originUrl}/__accounts`)).json();
    const legacyHash = await makePassword("legacy-side-pass", 1_000);
    const withLegacy = [...(accounts as object[]), { id: 9_101, username: "contested", email: "c@legacy.example", passwordHash: legacyHash, isActive: true }];
    expect((await fetch(`${originUrl}/__accounts`, { method: "PUT", body: JSON.stringify(withLegacy) })).ok).toBe(true);
    expect((await apiJson("/api/accounts/register/", { username: "contested", email: "c@new.example", password: "new-side-pass-9", password2: "new-side-pass-9" })).status).toBe(201);

    const login = (password: string) => worker("/api/accounts/login/", { method: "POST", body: JSON.stringify({ username: "contested", password }), headers: { "content-type": "application/json" } });
    const onNew = await login("new-side-pass-9");
    expect([onNew.status, onNew.headers.get("x-served-by")]).toEqual([200, "workers"]);
    const onLegacy = await login("legacy-side-pass");
    expect([onLegacy.status, onLegacy.headers.get("x-served-by")]).toEqual([200, "legacy"]);
    const { access } = await onLegacy.json<{ access: string }>();
    const me = await worker("/api/accounts/user/", { headers: { authorization: `Bearer ${access}` } });
    expect([me.status, me.headers.get("x-served-by")]).toEqual([200, "legacy"]);
    expect(await me.json()).toMatchObject({ id: 9_101, username: "contested" });
    expect((await login("neither")).status).toBe(401);
  });
});
