import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { AuditOutbox } from "../../src/coordinator/audit-outbox";
import { CutoverControl } from "../../src/coordinator/cutover-control";
import { signJwt } from "../../src/lib/jwt";
import { TEST_LEGACY_JWT_SECRET } from "../config";
import { adminJson, afterCacheTtl, ownCoordinator, patchCutover, postJson, resetPrimaryCoordinator, worker } from "../helpers";

const WRITER = 61_001;
const READER = 61_002;
const token = (userId: number) => signJwt({ token_type: "access", user_id: userId, jti: crypto.randomUUID(), iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 300 }, TEST_LEGACY_JWT_SECRET);
const sideOf = async (userId: number) => (await worker("/api/accounts/user/", { headers: { authorization: `Bearer ${await token(userId)}` } })).headers.get("x-served-by");

beforeAll(async () => {
  await resetPrimaryCoordinator();
  await env.DB.batch(
    [WRITER, READER].map((id) => env.DB.prepare(`INSERT INTO users (id, legacy_id, username, password_hash, date_joined, changed_on) VALUES (?1, ?1, ?2, 'x', '2024-01-01', 'legacy')`).bind(id, `holdback-${id}`)),
  );
});

describe("a rollback", () => {
  it("keeps users whose new-app writes legacy lacks on the new app, moves everyone else, and lets the operator release them", async () => {
    await patchCutover({ percent: 100, thresholds: { errorRate: 1, p95Ms: 600_000 } });
    await afterCacheTtl();
    expect([await sideOf(WRITER), await sideOf(READER)]).toEqual(["workers", "workers"]);
    const saved = await worker("/api/list_cutter/filters/", { method: "POST", body: JSON.stringify({ name: "made on the new app", filter_config: { a: "> 1" } }), headers: { authorization: `Bearer ${await token(WRITER)}`, "content-type": "application/json" } });
    expect(saved.status).toBe(201);
    const registered = await worker("/api/accounts/register/", { method: "POST", body: JSON.stringify({ username: "holdback-new", password: "a-long-passphrase-1", password2: "a-long-passphrase-1" }), headers: { "content-type": "application/json" } });
    expect(registered.status).toBe(201);
    const newcomer = (await env.DB.prepare(`SELECT id FROM users WHERE username = 'holdback-new'`).first<{ id: number }>())!.id;

    expect((await postJson("/admin/cutover/rollback", { reason: "hold-back test" })).body).toMatchObject({ phase: "rolled_back", percent: 0, holdBack: { afterSeq: 0 } });
    await afterCacheTtl();
    expect(await sideOf(WRITER)).toBe("workers");
    expect(await sideOf(newcomer)).toBe("workers");
    expect(await sideOf(READER)).toBe("legacy");
    const { body } = await adminJson("/admin/cutover");
    expect(body.holdBack).toMatchObject({ afterSeq: 0, users: 2 });
    expect(body.holdBack.reason).toMatch(/reverse sync/);

    // The operator's override: everyone to legacy (their unsynced writes stay on the new app only).
    expect((await patchCutover({ holdBack: null })).body).toMatchObject({ holdBack: null, phase: "rolled_back" });
    await afterCacheTtl();
    expect(await sideOf(WRITER)).toBe("legacy");
    expect((await adminJson("/admin/cutover")).body.holdBack).toBeNull();
  });
});

describe("the hold-back mark", () => {
  it("starts at what reverse syncs applied so far, advances only forward as more are applied, and survives later rollbacks", async () => {
    await runInDurableObject(ownCoordinator("hold-back"), async (_instance, state) => {
      let applied = 5;
      const control = new CutoverControl(state.storage, new AuditOutbox(state.storage.sql, env.DB), { syncLagSeconds: () => null, appliedSeq: () => applied });
      expect(control.update({ percent: 30 }, "op", Date.now()).ok).toBe(true);
      expect(control.rollback("op", "test", null, Date.now()).ok).toBe(true);
      expect(control.state().holdBack).toMatchObject({ afterSeq: 5 });
      const version = control.state().version;
      control.reverseApplied(9, "applier", Date.now());
      expect(control.state()).toMatchObject({ holdBack: { afterSeq: 9 }, version: version + 1 });
      control.reverseApplied(7, "applier", Date.now());
      expect(control.state()).toMatchObject({ holdBack: { afterSeq: 9 }, version: version + 1 });
      applied = 12;
      expect(control.update({ percent: 10 }, "op", Date.now()).ok).toBe(true);
      expect(control.rollback("op", "again", null, Date.now()).ok).toBe(true);
      expect(control.state().holdBack).toMatchObject({ afterSeq: 12 });
    });
  });
});
