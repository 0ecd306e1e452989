import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makePassword } from "../../src/app/auth/passwords";
import { bucketOf, userHash } from "../../src/cutover/bucket";
import { adminJson, afterCacheTtl, originUrl, patchCutover, resetPrimaryCoordinator, worker } from "../helpers";
import { LEGACY_PAGE } from "../config";
import { RELAY_FLUSH_MS } from "../../src/relay/gate-relay";

/**
 * Pages take part in the split like the API: a user's page and their API calls come from the same
 * side at a given state (the signed lc_bucket cookie a login sets names the user for page loads),
 * and in maintenance a page is the maintenance page.
 */
const USERS = Array.from({ length: 40 }, (_, i) => ({ id: 7_001 + i, username: `pages-${7_001 + i}`, password: `pw-${i}-pages` }));
type Side = "workers" | "legacy";
const sideAt = (percent: number, id: number): Side => (bucketOf(userHash(id)) < percent * 100 ? "workers" : "legacy");

let accounts: unknown;

beforeAll(async () => {
  await resetPrimaryCoordinator();
  const hashes = await Promise.all(USERS.map((u) => makePassword(u.password, 1_000)));
  accounts = await (await fetch(`${originUrl}/__accounts`)).json();
  await fetch(`${originUrl}/__accounts`, { method: "PUT", body: JSON.stringify(USERS.map((u, i) => ({ id: u.id, username: u.username, email: `${u.username}@example.com`, passwordHash: hashes[i], isActive: true }))) });
  await env.DB.batch(
    USERS.map((u, i) => env.DB.prepare(`INSERT INTO users (id, legacy_id, username, email, password_hash, date_joined) VALUES (?1, ?1, ?2, ?3, ?4, '2024-01-01T00:00:00Z')`).bind(u.id, u.username, `${u.username}@example.com`, hashes[i])),
  );
}, 60_000);

afterAll(async () => {
  await fetch(`${originUrl}/__accounts`, { method: "PUT", body: JSON.stringify(accounts) });
  await resetPrimaryCoordinator();
});

async function at(patch: Record<string, unknown>): Promise<void> {
  expect((await patchCutover({ thresholds: { errorRate: 1, p95Ms: 600_000 }, ...patch })).status).toBe(200);
  await afterCacheTtl();
}

/** Logs in through the gate; then loads a page with the cookie that login set, and calls the API with its token. */
async function visit(user: (typeof USERS)[number]) {
  const ip = { "cf-connecting-ip": `198.51.100.${user.id % 250}` };
  const login = await worker("/api/accounts/login/", { method: "POST", body: JSON.stringify({ username: user.username, password: user.password }), headers: { "content-type": "application/json", ...ip } });
  const cookie = login.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const { access } = (await login.json()) as { access: string };
  // Another address for the page load: the cookie, not the address, decides.
  const page = await worker("/files", { headers: { cookie, "cf-connecting-ip": `203.0.113.${user.id % 250}` } });
  const pageBody = await page.text();
  const api = await worker("/api/accounts/user/", { headers: { authorization: `Bearer ${access}`, cookie } });
  await api.arrayBuffer();
  return { login: login.headers.get("x-served-by"), page: page.headers.get("x-served-by"), pageStatus: page.status, pageBody, pageType: page.headers.get("content-type"), api: api.headers.get("x-served-by"), apiStatus: api.status };
}

describe("pages follow the user's side", () => {
  it("at 0 %: pages and API are legacy's", async () => {
    await at({ percent: 0 });
    for (const user of USERS.slice(0, 5)) expect(await visit(user)).toMatchObject({ login: "legacy", page: "legacy", pageStatus: 200, pageBody: LEGACY_PAGE, api: "legacy", apiStatus: 200 });
    const home = await worker("/");
    expect(home.headers.get("x-served-by")).toBe("legacy");
    expect(await home.text()).toBe(LEGACY_PAGE);
  });

  it("at 50 %: each user's page comes from the side that serves their API, which accepts them", async () => {
    await at({ percent: 50 });
    const sides = new Set<Side>();
    for (const user of USERS) {
      const seen = await visit(user);
      const side = sideAt(50, user.id);
      sides.add(side);
      expect({ user: user.id, ...seen, pageBody: undefined, pageType: undefined }).toMatchObject({ user: user.id, login: side, page: side, api: side, apiStatus: 200 });
      expect(seen.pageStatus).toBe(200);
      if (side === "workers") {
        expect(seen.pageType).toMatch(/^text\/html/);
        expect(seen.pageBody).toContain('<script type="module" src="/app.js"></script>');
      } else expect(seen.pageBody).toBe(LEGACY_PAGE);
    }
    expect(sides).toEqual(new Set(["workers", "legacy"]));
  });

  it("at 100 %: the Worker serves the app's page, its script and its style, under the strict CSP", async () => {
    await at({ percent: 100 });
    for (const user of USERS.slice(0, 5)) expect(await visit(user)).toMatchObject({ login: "workers", page: "workers", api: "workers", apiStatus: 200, pageStatus: 200 });
    const home = await worker("/");
    expect(home.headers.get("x-served-by")).toBe("workers");
    expect(home.headers.get("content-security-policy")).toBe("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
    expect(home.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await home.text()).toContain("<title>List Cutter</title>");
    const script = await worker("/app.js");
    expect(script.status).toBe(200);
    expect(script.headers.get("content-type")).toMatch(/javascript/);
    expect((await worker("/app.css")).headers.get("content-type")).toMatch(/^text\/css/);
    // The new app's pages are not counted in the metrics the rollback analysis judges; its API calls are.
    const user = USERS[0]!;
    const { access } = (await (await worker("/api/accounts/login/", { method: "POST", body: JSON.stringify({ username: user.username, password: user.password }), headers: { "content-type": "application/json" } })).json()) as { access: string };
    const counted = async () => (await adminJson("/admin/metrics?window=60")).body.backends.workers.requests as number;
    /**
     * An API call a second after the gate's last batch: it is recorded and flushes the batch (in the
     * background); then the count once it has stopped moving (relays forward what they hold at most
     * once per RELAY_FLUSH_MS, so earlier traffic may land after this call's).
     */
    const apiCallSettled = async (ip: string) => {
      await new Promise((r) => setTimeout(r, 1_100));
      await (await worker("/api/accounts/user/", { headers: { authorization: `Bearer ${access}`, "cf-connecting-ip": ip } })).arrayBuffer();
      let last = await counted();
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, RELAY_FLUSH_MS + 500));
        const now = await counted();
        if (now === last) return now;
        last = now;
      }
      throw new Error("the request metrics never settled");
    };
    const before = await apiCallSettled("192.0.2.1");
    for (const path of ["/", "/files", "/app.js", "/app.css", "/filters"]) await (await worker(path, { headers: { "cf-connecting-ip": "192.0.2.2" } })).arrayBuffer();
    expect(await apiCallSettled("192.0.2.3")).toBe(before + 1);
    // A page may not be posted to; the API keeps its JSON 404 for unknown routes.
    expect((await worker("/files", { method: "POST" })).status).toBe(405);
    expect((await worker("/api/nowhere/")).status).toBe(404);
  });

  it("in maintenance: a page is the maintenance page, and the API a 503 JSON", async () => {
    await at({ percent: 100, maintenance: { enabled: true, message: "Final sync" } });
    const page = await worker("/files", { headers: { accept: "text/html" } });
    expect(page.status).toBe(503);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await page.text()).toContain("Final sync");
    const api = await worker("/api/accounts/user/");
    expect(api.status).toBe(503);
    expect(await api.json()).toMatchObject({ error: "maintenance" });
    await at({ maintenance: { enabled: false } });
  });
});
