import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { fnv1a } from "../../src/cutover/bucket";
import { chooseBackend } from "../../src/cutover/split";
import { INITIAL_CUTOVER } from "../../src/cutover/state";
import { signJwt } from "../../src/lib/jwt";
import { TEST_CUTOVER_TTL_MS, TEST_LEGACY_JWT_SECRET } from "../config";
import { admin, afterCacheTtl, patchCutover, worker } from "../helpers";

describe("maintenance mode", () => {
  it("takes effect within the cache TTL, answers 503 + Retry-After (JSON or HTML), and never blocks health or admin", async () => {
    expect((await worker("/api/status/")).headers.get("x-served-by")).toBe("legacy");
    const on = await patchCutover({ maintenance: { enabled: true, message: "Moving to the new <home>", retryAfterSeconds: 300 } });
    expect(on).toMatchObject({ status: 200, body: { phase: "maintenance", maintenance: { enabled: true } } });
    const changedAt = Date.now();

    // Judged by when each request was sent: one sent before the TTL ran out may answer late, from legacy.
    let lastServedSentAt = -Infinity;
    let res: Response;
    for (;;) {
      const sentAt = Date.now();
      res = await worker("/api/status/");
      if (res.status === 503 || sentAt - changedAt > 5_000) break;
      lastServedSentAt = sentAt;
      await res.arrayBuffer();
    }
    expect(res.status).toBe(503);
    expect(lastServedSentAt - changedAt, "a request sent after the TTL (and one state read) was not answered 503").toBeLessThanOrEqual(TEST_CUTOVER_TTL_MS + 500);
    expect(res.headers.get("retry-after")).toBe("300");
    expect(res.headers.get("x-served-by")).toBe("workers");
    expect(await res.json()).toEqual({ error: "maintenance", message: "Moving to the new <home>", retryAfterSeconds: 300 });

    const page = await worker("/", { headers: { accept: "text/html" } });
    expect(page.status).toBe(503);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain("Moving to the new &#60;home&#62;");
    expect((await worker("/anything", { headers: { accept: "application/json" } })).headers.get("content-type")).toContain("application/json");

    expect((await worker("/health")).status).toBe(200);
    expect((await admin("/admin/jobs")).status).toBe(200);
    expect((await worker("/dashboard")).status).toBe(200);

    await patchCutover({ maintenance: { enabled: false } });
    await afterCacheTtl();
    const back = await worker("/api/status/");
    expect(back.status).toBe(200);
    expect(back.headers.get("x-served-by")).toBe("legacy");
  });
});

describe("the sticky split, end to end", () => {
  it("serves each user from the side their bucket says, and only moves users legacy → new as percent rises", async () => {
    const users = Array.from({ length: 300 }, (_, i) => 1_000 + i);
    // Imported legacy users: the new app serves only users it holds.
    await env.DB.batch(users.map((id) => env.DB.prepare(`INSERT OR IGNORE INTO users (id, legacy_id, username, password_hash, date_joined) VALUES (?1, ?1, ?2, 'x', '2024-01-01')`).bind(id, `split${id}`)));
    const tokens = await Promise.all(users.map((id) => signJwt({ user_id: id, exp: 2_000_000_000 }, TEST_LEGACY_JWT_SECRET)));
    const sides = async () => Promise.all(tokens.map(async (t) => (await worker("/api/list_cutter/list_saved_files/", { headers: { authorization: `Bearer ${t}` } })).headers.get("x-served-by")));

    await patchCutover({ percent: 30 });
    await afterCacheTtl();
    const at30 = await sides();
    users.forEach((id, i) => expect(at30[i], `user ${id}`).toBe(chooseBackend({ percent: 30, allowlist: INITIAL_CUTOVER.allowlist }, { userId: id, ip: null, hash: fnv1a(`user:${id}`) })));
    expect(await sides()).toEqual(at30);

    await patchCutover({ percent: 60 });
    await afterCacheTtl();
    const at60 = await sides();
    at30.forEach((side, i) => side === "workers" && expect(at60[i]).toBe("workers"));
    expect(at60.filter((s) => s === "workers").length).toBeGreaterThan(at30.filter((s) => s === "workers").length);
    await patchCutover({ percent: 0 });
    await afterCacheTtl();
  });

  it("gives a first-time browser a bucket cookie and keeps it on the same side", async () => {
    await patchCutover({ percent: 50 });
    await afterCacheTtl();
    const first = await worker("/", { headers: { "cf-connecting-ip": "198.51.100.77" } });
    const setCookie = first.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/^lc_bucket=[0-9a-f]{8}; Path=\/; Max-Age=31536000; HttpOnly; Secure; SameSite=Lax$/);
    const cookie = setCookie.split(";")[0]!;
    for (const ip of ["198.51.100.77", "192.0.2.1", "192.0.2.2"]) {
      const again = await worker("/", { headers: { cookie, "cf-connecting-ip": ip } });
      expect(again.headers.get("x-served-by")).toBe(first.headers.get("x-served-by"));
      expect(again.headers.get("set-cookie")).toBeNull();
    }
    await patchCutover({ percent: 0 });
    await afterCacheTtl();
  });

  it("never fails on malformed tokens or cookies", async () => {
    const malformed: Record<string, string>[] = [{ authorization: "Bearer x.y.z" }, { authorization: "Bearer" }, { authorization: "Bearer a.!!!.c" }, { cookie: "lc_bucket=%%%%" }, { cookie: "lc_bucket=123456789" }];
    for (const headers of malformed) {
      const res = await worker("/api/list_cutter/list_saved_files/", { headers });
      expect(res.status, JSON.stringify(headers)).toBeLessThan(500);
      expect(res.headers.get("x-served-by")).toMatch(/^(legacy|workers)$/);
    }
  });
});
