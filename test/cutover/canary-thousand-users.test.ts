import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makePassword } from "../../src/app/auth/passwords";
import { bucketOf, userHash } from "../../src/cutover/bucket";
import { afterCacheTtl, originUrl, patchCutover, postJson, resetPrimaryCoordinator, worker } from "../helpers";

/**
 * 1,000 users who exist on both sides (imported into D1, known to the fixture legacy origin, which
 * issues and checks simplejwt tokens with the legacy SECRET_KEY), through the real gate at 30 %.
 */
const USERS = Array.from({ length: 1_000 }, (_, i) => ({ id: 5_001 + i, username: `canary-${5_001 + i}`, password: `pw-${i}-canary` }));
const CONCURRENCY = 25;

type Side = "workers" | "legacy";
const sideAt = (percent: number, id: number): Side => (bucketOf(userHash(id)) < percent * 100 ? "workers" : "legacy");

/** One simulated client: a changing address per request; a cookie jar or none; what it saw. */
class Client {
  readonly jar = new Map<string, string>();
  access = "";
  refresh = "";
  readonly seen: { path: string; status: number; side: string | null }[] = [];
  constructor(
    readonly user: (typeof USERS)[number],
    readonly cookies: "kept" | "none" | "stale",
  ) {}

  async call(path: string, init: RequestInit = {}): Promise<any> {
    const headers = new Headers(init.headers);
    headers.set("cf-connecting-ip", `198.${18 + (Math.random() * 2) | 0}.${(Math.random() * 256) | 0}.${(Math.random() * 256) | 0}`);
    if (this.cookies === "kept" && this.jar.size > 0) headers.set("cookie", [...this.jar].map(([k, v]) => `${k}=${v}`).join("; "));
    if (this.cookies === "stale") headers.set("cookie", `lc_bucket=${((Math.random() * 2 ** 32) >>> 0).toString(16).padStart(8, "0")}`);
    const res = await worker(path, { ...init, headers });
    for (const set of res.headers.getSetCookie()) {
      const [pair] = set.split(";");
      const [name, value] = pair!.split("=");
      this.jar.set(name!, value!);
    }
    this.seen.push({ path, status: res.status, side: res.headers.get("x-served-by") });
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  }

  post(path: string, body: unknown) {
    return this.call(path, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  }

  authed(path: string) {
    return this.call(path, { headers: { authorization: `Bearer ${this.access}` } });
  }

  async session(): Promise<void> {
    const tokens = await this.post("/api/accounts/login/", { username: this.user.username, password: this.user.password });
    this.access = tokens?.access;
    this.refresh = tokens?.refresh;
    this.access = (await this.post("/api/accounts/token/refresh/", { refresh: this.refresh }))?.access;
    for (let i = 0; i < 5; i++) await this.authed(i % 2 ? "/api/list_cutter/list_saved_files/" : "/api/accounts/user/");
  }
}

async function inPool<T>(items: readonly T[], run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < items.length) await run(items[next++]!);
  }));
}

let accounts: unknown;

beforeAll(async () => {
  await resetPrimaryCoordinator();
  // Cheap hashes: this test is about routing, not password cost.
  const hashes = await Promise.all(USERS.map((u) => makePassword(u.password, 1_000)));
  accounts = await (await fetch(`${originUrl}/__accounts`)).json();
  const put = await fetch(`${originUrl}/__accounts`, { method: "PUT", body: JSON.stringify(USERS.map((u, i) => ({ id: u.id, username: u.username, email: `${u.username}@example.com`, passwordHash: hashes[i], isActive: true }))) });
  expect(put.ok).toBe(true);
  for (let i = 0; i < USERS.length; i += 100) {
    await env.DB.batch(
      USERS.slice(i, i + 100).map((u, k) =>
        env.DB.prepare(`INSERT INTO users (id, legacy_id, username, email, password_hash, date_joined) VALUES (?1, ?1, ?2, ?3, ?4, '2024-01-01T00:00:00Z')`).bind(u.id, u.username, `${u.username}@example.com`, hashes[i + k]),
      ),
    );
  }
  // Routing is under test, not the analysis: a slow minute on this machine must not roll the canary back.
  expect((await patchCutover({ percent: 30, thresholds: { errorRate: 1, p95Ms: 600_000 } })).status).toBe(200);
  await afterCacheTtl();
}, 120_000);

afterAll(async () => {
  await fetch(`${originUrl}/__accounts`, { method: "PUT", body: JSON.stringify(accounts) });
  await resetPrimaryCoordinator();
});

describe("1,000 users at 30 %", () => {
  const clients = USERS.map((u, i) => new Client(u, (["kept", "none", "stale"] as const)[i % 3]!));

  it("serves each user's login, refresh and 5 authenticated calls from one side, with no 401", async () => {
    await inPool(clients, (c) => c.session());
    const wrongSide = clients.flatMap((c) => c.seen.filter((s) => s.side !== sideAt(30, c.user.id)).map((s) => ({ user: c.user.id, ...s })));
    const refused = clients.flatMap((c) => c.seen.filter((s) => s.status !== 200).map((s) => ({ user: c.user.id, ...s })));
    expect(wrongSide.slice(0, 5)).toEqual([]);
    expect(refused.slice(0, 5)).toEqual([]);
    expect(clients.reduce((n, c) => n + c.seen.length, 0)).toBe(7_000);
    const onNew = clients.filter((c) => sideAt(30, c.user.id) === "workers").length;
    expect(onNew).toBeGreaterThan(250);
    expect(onNew).toBeLessThan(350);
  }, 300_000);

  it("a ramp to 60 % moves users only to the new app, and a moved user's next call succeeds without logging in again", async () => {
    expect((await patchCutover({ percent: 60 })).status).toBe(200);
    await afterCacheTtl();
    await inPool(clients, async (c) => void (await c.authed("/api/accounts/user/")));
    const moved = clients.filter((c) => sideAt(30, c.user.id) !== sideAt(60, c.user.id));
    expect(moved.length).toBeGreaterThan(200);
    for (const c of clients) {
      const last = c.seen.at(-1)!;
      expect({ user: c.user.id, ...last }).toEqual({ user: c.user.id, path: "/api/accounts/user/", status: 200, side: sideAt(60, c.user.id) });
      if (sideAt(30, c.user.id) === "workers") expect(last.side).toBe("workers");
    }
  }, 300_000);

  it("a rollback moves everyone to legacy, still logged in with the tokens the new app issued", async () => {
    expect((await postJson("/admin/cutover/rollback", { reason: "canary test" })).status).toBe(200);
    await afterCacheTtl();
    await inPool(clients, async (c) => {
      await c.authed("/api/list_cutter/list_saved_files/");
      c.access = (await c.post("/api/accounts/token/refresh/", { refresh: c.refresh }))?.access;
      await c.authed("/api/accounts/user/");
    });
    for (const c of clients) {
      expect(c.seen.slice(-3).map((s) => `${s.status} ${s.side}`), `user ${c.user.id}`).toEqual(["200 legacy", "200 legacy", "200 legacy"]);
    }
  }, 300_000);
});
