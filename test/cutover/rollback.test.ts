import { createExecutionContext, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { coordinator } from "../../src/env";
import { Gate } from "../../src/cutover/gate";
import { MetricsBuffer } from "../../src/cutover/metrics-buffer";
import { UserDirectory } from "../../src/cutover/user-directory";
import { CutoverStateCache } from "../../src/cutover/state-cache";
import { adminJson, afterCacheTtl, patchCutover, postJson, resetPrimaryCoordinator, worker } from "../helpers";
import { controlPlane } from "../../src/relay/control-plane";

// The gate and the operator API use the "primary" coordinator: each test starts it afresh.
beforeEach(resetPrimaryCoordinator);

/** A gate in front of a "new app" that answers with `status`, flushing metrics every 25 requests. */
function gateWithApp(status: number) {
  return new Gate(new CutoverStateCache(() => coordinator(env).getCutover(), 0), new MetricsBuffer(25, 60_000), new UserDirectory(env.DB), async () => new Response("x", { status }), controlPlane(env, null));
}

async function hit(gate: Gate, count: number, firstUser = 1) {
  const sides: string[] = [];
  for (let i = 0; i < count; i++) {
    const ctx = createExecutionContext();
    const res = await gate.handle(new Request("https://list-cutter.test/api/list_cutter/list_saved_files/", { headers: { "cf-connecting-ip": `198.51.100.${(firstUser + i) % 250}` } }), env, ctx);
    await waitOnExecutionContext(ctx);
    sides.push(res.headers.get("x-served-by")!);
    await res.arrayBuffer();
  }
  return sides;
}

describe("analysis and automatic rollback", () => {
  it("does not roll back below the minimum request count", async () => {
    expect((await patchCutover({ percent: 100, thresholds: { minRequests: 60, errorRate: 0.05, windowSeconds: 60 } })).body.phase).toBe("cutover");
    const gate = gateWithApp(500);
    expect(await hit(gate, 50)).toEqual(new Array(50).fill("workers"));
    await runDurableObjectAlarm(coordinator(env));
    const { body } = await adminJson("/admin/cutover");
    expect(body).toMatchObject({ phase: "cutover", percent: 100 });
    const metrics = await adminJson("/admin/metrics");
    expect(metrics.body.backends.workers).toMatchObject({ requests: 50, errors: 50, errorRate: 1, flushes: 2 });
  });

  it("rolls back on an error storm from the new backend: percent 0, phase rolled_back, audited with the numbers", async () => {
    expect((await patchCutover({ percent: 100, thresholds: { minRequests: 60, errorRate: 0.05, windowSeconds: 60 } })).body.phase).toBe("cutover");
    const gate = gateWithApp(503);
    // Judged at each flush (every 25): 25 and 50 requests are too few, 75 are enough.
    await hit(gate, 50);
    expect((await adminJson("/admin/cutover")).body).toMatchObject({ phase: "cutover", percent: 100 });
    await hit(gate, 25, 50);
    const { body } = await adminJson("/admin/cutover");
    expect(body).toMatchObject({ phase: "rolled_back", percent: 0, updatedBy: "analysis" });
    const rollback = body.history.find((h: any) => h.action === "cutover.rollback");
    expect(rollback).toMatchObject({ actor: "analysis", details: { reason: "5xx rate 100.0% > 5.0%", from: { phase: "cutover", percent: 100 }, to: { phase: "rolled_back", percent: 0 } } });
    expect(rollback.details.evidence).toMatchObject({ requests: 75, errors: 75, errorRate: 1, percent: 100, thresholds: { minRequests: 60 } });
    // The gates see the rollback within their TTL: everyone is back on legacy.
    expect(await hit(gate, 5, 100)).toEqual(new Array(5).fill("legacy"));
    await afterCacheTtl();
    expect((await worker("/api/list_cutter/list_saved_files/")).headers.get("x-served-by")).toBe("legacy");
  });

  it("walks a canary plan forward only while the new backend is healthy", async () => {
    const plan = await patchCutover({ plan: { steps: [10, 50, 100], holdSeconds: 1 }, thresholds: { minRequests: 20 } });
    expect(plan.body).toMatchObject({ phase: "canary", percent: 10, plan: { index: 0 } });
    const healthy = gateWithApp(200);
    // Too little traffic reaches the new app at 10 %: no verdict, so no advance.
    await new Promise((r) => setTimeout(r, 1_100));
    await runDurableObjectAlarm(coordinator(env));
    expect((await adminJson("/admin/cutover")).body.percent).toBe(10);

    // Force the test's traffic onto the new app; each client counts for a few requests of a batch only.
    const clients = Array.from({ length: 25 }, (_, i) => `203.0.113.${i + 1}`);
    await patchCutover({ allowlist: { new: { ips: clients } } });
    const forced = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const ctx = createExecutionContext();
        await (await healthy.handle(new Request("https://list-cutter.test/api/x/", { headers: { "cf-connecting-ip": clients[i % clients.length]! } }), env, ctx)).arrayBuffer();
        await waitOnExecutionContext(ctx);
      }
    };
    await forced(25);
    await new Promise((r) => setTimeout(r, 1_100));
    await runDurableObjectAlarm(coordinator(env));
    expect((await adminJson("/admin/cutover")).body).toMatchObject({ phase: "canary", percent: 50, plan: { index: 1 } });
    await forced(25);
    await new Promise((r) => setTimeout(r, 1_100));
    await runDurableObjectAlarm(coordinator(env));
    expect((await adminJson("/admin/cutover")).body).toMatchObject({ phase: "cutover", percent: 100, plan: { index: 2 } });

    const failing = gateWithApp(500);
    await failing.handle(new Request("https://list-cutter.test/api/x/"), env, createExecutionContext());
    for (let i = 0; i < 25; i++) {
      const ctx = createExecutionContext();
      await (await failing.handle(new Request("https://list-cutter.test/api/x/", { headers: { "cf-connecting-ip": clients[i % clients.length]! } }), env, ctx)).arrayBuffer();
      await waitOnExecutionContext(ctx);
    }
    const after = (await adminJson("/admin/cutover")).body;
    expect(after).toMatchObject({ phase: "rolled_back", percent: 0, plan: null });
    expect(after.history.map((h: any) => h.action).slice(0, 4)).toEqual(["cutover.rollback", "cutover.advance", "cutover.advance", "cutover.update"]);
  });
});

describe("the cutover operator API", () => {
  it("refuses bad input with a 4xx naming the field", async () => {
    const cases: [unknown, number, string][] = [
      [{ percent: 101 }, 400, "percent"],
      [{ percent: 33.333 }, 400, "percent"],
      [{ percent: 10, colour: "red" }, 400, "colour"],
      [{ maintenance: true }, 400, "maintenance"],
      [{ phase: "complete" }, 409, "phase"],
      [{}, 400, "body"],
    ];
    for (const [body, status, field] of cases) {
      const res = await patchCutover(body);
      expect(res, JSON.stringify(body)).toMatchObject({ status, body: { field } });
    }
    const bad = await adminJson("/admin/cutover", { method: "PATCH", body: "{percent:" });
    expect(bad).toMatchObject({ status: 400, body: { field: "body" } });
    expect(await postJson("/admin/cutover/rollback", { reason: 5 })).toMatchObject({ status: 400, body: { field: "reason" } });
    expect(await adminJson("/admin/metrics?window=5")).toMatchObject({ status: 400, body: { field: "window" } });
  });

  it("rolls back by hand and records who did it", async () => {
    await patchCutover({ percent: 20 });
    const res = await postJson("/admin/cutover/rollback", { reason: "customer reports" });
    expect(res).toMatchObject({ status: 200, body: { phase: "rolled_back", percent: 0 } });
    const latest = (await adminJson("/admin/cutover")).body.history[0];
    expect(latest).toMatchObject({ action: "cutover.rollback", actor: "admin@local", details: { reason: "customer reports", from: { percent: 20 }, to: { percent: 0 } } });
  });

  it("answers a rollback that committed with its state even when D1 cannot take the audit entry, which follows later", async () => {
    await patchCutover({ percent: 20 });
    await env.DB.exec("ALTER TABLE audit_logs RENAME TO audit_logs_away");
    let res: { status: number; body: any };
    try {
      res = await postJson("/admin/cutover/rollback", { reason: "audit store down" });
    } finally {
      await env.DB.exec("ALTER TABLE audit_logs_away RENAME TO audit_logs");
    }
    expect(res).toMatchObject({ status: 200, body: { phase: "rolled_back", percent: 0 } });
    expect(await coordinator(env).getCutover()).toMatchObject({ phase: "rolled_back", percent: 0 });
    const entry = async () => (await adminJson("/admin/cutover")).body.history.find((h: any) => h.details.reason === "audit store down");
    expect(await entry()).toBeUndefined();
    // The entry waits in the coordinator's outbox until a wake-up for it (the earliest or the next one).
    for (let i = 0; i < 3 && !(await entry()); i++) await runDurableObjectAlarm(coordinator(env));
    expect(await entry()).toMatchObject({ action: "cutover.rollback", actor: "admin@local", details: { from: { percent: 20 }, to: { percent: 0 } } });
  });
});
