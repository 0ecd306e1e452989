import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { bucketOf, userHash } from "../../src/cutover/bucket";
import { Gate } from "../../src/cutover/gate";
import { PEEK_BYTES } from "../../src/cutover/identity";
import { MetricsBuffer } from "../../src/cutover/metrics-buffer";
import { INITIAL_CUTOVER, type CutoverState } from "../../src/cutover/state";
import { CutoverStateCache } from "../../src/cutover/state-cache";
import { UserDirectory } from "../../src/cutover/user-directory";
import { FIRST_NEW_ID } from "../../src/lib/d1";
import { signJwt } from "../../src/lib/jwt";
import { TEST_LEGACY_JWT_SECRET } from "../config";

/** Imported legacy users 1..200 (usernames side-<id>); 201..220 exist only on legacy (not imported yet). */
const IMPORTED = Array.from({ length: 200 }, (_, i) => i + 1);
const NOT_IMPORTED = Array.from({ length: 20 }, (_, i) => 201 + i);
const NEW_ONLY = FIRST_NEW_ID + 7;

let state: CutoverState = { ...INITIAL_CUTOVER, phase: "canary", percent: 30 };
const received: string[] = [];
const gate = new Gate(new CutoverStateCache(async () => state, 0), new MetricsBuffer(), new UserDirectory(env.DB), async (request) => {
  received.push(await request.text());
  return new Response("{}", { status: request.headers.get("x-answer") === "401" ? 401 : 200 });
});

async function send(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await gate.handle(new Request(`https://list-cutter.test${path}`, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}
const side = async (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) => (await send(path, init)).headers.get("x-served-by");
const post = (body: unknown, headers: Record<string, string> = {}): RequestInit & { headers: Record<string, string> } => ({ method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json", ...headers } });
const token = (userId: number, type: "access" | "refresh", secret = TEST_LEGACY_JWT_SECRET) => signJwt({ token_type: type, user_id: userId, jti: crypto.randomUUID(), iat: 1, exp: 2_000_000_000 }, secret);

beforeAll(async () => {
  await env.DB.batch(
    [...IMPORTED, NEW_ONLY].map((id) =>
      env.DB.prepare(`INSERT OR IGNORE INTO users (id, legacy_id, username, password_hash, date_joined) VALUES (?1, ?2, ?3, 'x', '2024-01-01')`).bind(id, id === NEW_ONLY ? null : id, `side-${id}`),
    ),
  );
});

describe("one side per user", () => {
  it("serves a user's login, refresh and authenticated calls from one side, whatever their cookie and address", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...IMPORTED), fc.integer({ min: 1, max: 99 }), fc.ipV4(), fc.option(fc.integer({ min: 0, max: 0xffffffff })), async (id, percent, ip, cookieHash) => {
        state = { ...state, percent };
        const expected = bucketOf(userHash(id)) < percent * 100 ? "workers" : "legacy";
        const headers: Record<string, string> = { "cf-connecting-ip": ip };
        if (cookieHash !== null) headers.cookie = `lc_bucket=${cookieHash.toString(16).padStart(8, "0")}`;
        expect(await side("/api/accounts/login/", post({ username: `side-${id}`, password: "x" }, headers))).toBe(expected);
        expect(await side("/api/accounts/token/refresh/", post({ refresh: await token(id, "refresh") }, headers))).toBe(expected);
        expect(await side("/api/list_cutter/list_saved_files/", { headers: { ...headers, authorization: `Bearer ${await token(id, "access")}` } })).toBe(expected);
      }),
      { numRuns: 150 },
    );
  });

  it("raising the percentage only moves users from legacy to new", async () => {
    const sides = async (percent: number) => {
      state = { ...state, percent };
      return Promise.all(IMPORTED.map((id) => side("/api/accounts/login/", post({ username: `side-${id}`, password: "x" }))));
    };
    const ramp = [await sides(10), await sides(30), await sides(60), await sides(90)];
    for (let step = 1; step < ramp.length; step++) {
      ramp[step - 1]!.forEach((s, i) => s === "workers" && expect(ramp[step]![i], `user ${IMPORTED[i]}`).toBe("workers"));
    }
    expect(ramp[3]!.filter((s) => s === "workers").length).toBeGreaterThan(ramp[0]!.filter((s) => s === "workers").length);
  });

  it("always serves users the new app created from the new app, whatever the percentage or allowlists", async () => {
    state = { ...state, percent: 0, phase: "rolled_back", allowlist: { new: { users: [], ips: [] }, legacy: { users: [NEW_ONLY], ips: ["203.0.113.5"] } } };
    const headers = { "cf-connecting-ip": "203.0.113.5" };
    expect(await side("/api/accounts/login/", post({ username: `side-${NEW_ONLY}`, password: "x" }, headers))).toBe("workers");
    expect(await side("/api/accounts/token/refresh/", post({ refresh: await token(NEW_ONLY, "refresh") }, headers))).toBe("workers");
    expect(await side("/api/accounts/user/", { headers: { ...headers, authorization: `Bearer ${await token(NEW_ONLY, "access")}` } })).toBe("workers");
    state = { ...state, allowlist: INITIAL_CUTOVER.allowlist, phase: "canary" };
  });

  it("serves users the new app does not hold yet (and logins for unknown usernames) from legacy until the cutover completes", async () => {
    state = { ...state, percent: 100, phase: "cutover" };
    for (const id of NOT_IMPORTED) {
      expect(await side("/api/accounts/user/", { headers: { authorization: `Bearer ${await token(id, "access")}` } })).toBe("legacy");
      expect(await side("/api/accounts/token/refresh/", post({ refresh: await token(id, "refresh") }))).toBe("legacy");
    }
    expect(await side("/api/accounts/login/", post({ username: "registered-on-legacy-yesterday", password: "x" }))).toBe("legacy");
    // Anonymous requests follow the percentage.
    expect(await side("/api/accounts/register/", post({ username: "someone-new" }, { "cf-connecting-ip": "192.0.2.1" }))).toBe("workers");
    state = { ...state, phase: "complete" };
    expect(await side("/api/accounts/user/", { headers: { authorization: `Bearer ${await token(NOT_IMPORTED[0]!, "access")}` } })).toBe("workers");
    expect(await side("/api/accounts/login/", post({ username: "registered-on-legacy-yesterday", password: "x" }))).toBe("workers");
    state = { ...INITIAL_CUTOVER, phase: "canary", percent: 30 };
  });

  it("remembers the user in the bucket cookie after a successful answer, so that their pages follow them; never after a failed one", async () => {
    state = { ...state, percent: 50 };
    const id = IMPORTED.find((i) => bucketOf(userHash(i)) < 5_000)!;
    const failed = await send("/api/accounts/login/", post({ username: `side-${id}`, password: "wrong" }, { "x-answer": "401" }));
    expect(failed.status).toBe(401);
    expect(failed.headers.get("set-cookie")).toBeNull();
    const ok = await send("/api/accounts/login/", post({ username: `side-${id}`, password: "right" }));
    const setCookie = ok.headers.get("set-cookie")!;
    expect(setCookie).toMatch(new RegExp(`^lc_bucket=u${id}\\.[A-Za-z0-9_-]{22}; Path=/; Max-Age=31536000; HttpOnly; Secure; SameSite=Lax$`));
    const cookie = setCookie.split(";")[0]!;
    // A page request carries only the cookie: it goes where the user's API calls go.
    expect(await side("/files", { headers: { cookie } })).toBe("workers");
    const again = await send("/api/accounts/user/", { headers: { cookie, authorization: `Bearer ${await token(id, "access")}` } });
    expect(again.headers.get("set-cookie")).toBeNull();
    // The cookie is signed: one naming another user, or with a signature of its own making, is ignored.
    const other = IMPORTED.find((i) => bucketOf(userHash(i)) >= 5_000)!;
    for (const forged of [cookie.replace(`u${id}.`, `u${other}.`), `lc_bucket=u${id}.AAAAAAAAAAAAAAAAAAAAAA`, `lc_bucket=u${id}`]) {
      const res = await send("/files", { headers: { cookie: forged, "cf-connecting-ip": "192.0.2.44" } });
      expect(res.headers.get("set-cookie"), forged).toMatch(/^lc_bucket=[0-9a-f]{8};/);
    }
  });

  it("forwards login and refresh bodies intact, chunked or not JSON, and reads form-encoded logins as DRF does", async () => {
    state = { ...state, percent: 100, phase: "cutover" };
    const padded = JSON.stringify({ username: `side-${IMPORTED[0]}`, password: "p", pad: "x".repeat(20 * 1024) });
    const bodies = [JSON.stringify({ username: `side-${IMPORTED[0]}`, password: "p" }), "not json {", padded, ""];
    for (const body of bodies) {
      received.length = 0;
      const streamed = new Blob([body]).stream();
      await send("/api/accounts/login/", { method: "POST", body: streamed, headers: { "content-type": "application/json" } });
      await send("/api/accounts/token/refresh/", { method: "POST", body, headers: { "content-type": "application/json" } });
      expect(received).toEqual([body, body]);
    }
    // A padded body is still read whole and routed by its username, not by a cookie naming someone else.
    state = { ...state, percent: 30, phase: "canary" };
    const onLegacy = IMPORTED.find((i) => bucketOf(userHash(i)) >= 3_000)!;
    const elsewhere = `lc_bucket=u${NEW_ONLY}.AAAAAAAAAAAAAAAAAAAAAA`;
    const pad = JSON.stringify({ username: `side-${onLegacy}`, password: "p", pad: "x".repeat(20 * 1024) });
    expect(await side("/api/accounts/login/", { method: "POST", body: pad, headers: { cookie: elsewhere } })).toBe("legacy");
    const form = new URLSearchParams({ username: `side-${onLegacy}`, password: "p" }).toString();
    expect(await side("/api/accounts/login/", { method: "POST", body: form, headers: { "content-type": "application/x-www-form-urlencoded" } })).toBe("legacy");
    state = { ...INITIAL_CUTOVER, phase: "canary", percent: 30 };
  });

  it("refuses login and refresh bodies it cannot attribute: larger than the new app's JSON limit (413), or multipart (415)", async () => {
    const huge = await send("/api/accounts/login/", { method: "POST", body: JSON.stringify({ username: "side-1", password: "x".repeat(PEEK_BYTES) }) });
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ field: "body" });
    const chunked = await send("/api/accounts/token/refresh/", { method: "POST", body: new Blob(["{", " ".repeat(PEEK_BYTES), "}"]).stream() });
    expect(chunked.status).toBe(413);
    const form = new FormData();
    form.append("username", "side-1");
    form.append("password", "x");
    const multipart = await send("/api/accounts/login/", { method: "POST", body: form });
    expect(multipart.status).toBe(415);
    expect(await multipart.json()).toMatchObject({ field: "content-type" });
  });
});
