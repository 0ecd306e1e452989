import { createExecutionContext, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { coordinator } from "../../src/env";
import { Gate } from "../../src/cutover/gate";
import { MetricsBuffer } from "../../src/cutover/metrics-buffer";
import { CutoverStateCache } from "../../src/cutover/state-cache";
import { UserDirectory } from "../../src/cutover/user-directory";
import { adminJson, patchCutover, resetPrimaryCoordinator } from "../helpers";
import { legacyPaths, runJob, uploadExport } from "../sync/canary";
import { controlPlane } from "../../src/relay/control-plane";

beforeAll(resetPrimaryCoordinator);

/** Healthy traffic on the new app, from distinct clients (each counts for a few requests only). */
async function healthyTraffic(count: number): Promise<void> {
  const gate = new Gate(new CutoverStateCache(() => coordinator(env).getCutover(), 0), new MetricsBuffer(25, 60_000), new UserDirectory(env.DB), async () => new Response("ok"), controlPlane(env, null));
  for (let i = 0; i < count; i++) {
    const ctx = createExecutionContext();
    await (await gate.handle(new Request("https://list-cutter.test/api/x/", { headers: { "cf-connecting-ip": `203.0.113.${(i % 25) + 1}` } }), env, ctx)).arrayBuffer();
    await waitOnExecutionContext(ctx);
  }
}

async function judgeAfterHold(): Promise<any> {
  await healthyTraffic(25);
  await new Promise((r) => setTimeout(r, 1_100));
  await runDurableObjectAlarm(coordinator(env));
  return (await adminJson("/admin/cutover")).body;
}

describe("the sync-lag figure", () => {
  it("is null before any sync, and a plan with maxSyncLagSeconds holds its step until a sync is fresh enough", async () => {
    expect((await adminJson("/admin/cutover")).body.sync).toEqual({ lastSync: null, lagSeconds: null });
    expect((await adminJson("/admin/metrics")).body.sync).toEqual({ lastSync: null, lagSeconds: null });

    const clients = Array.from({ length: 25 }, (_, i) => `203.0.113.${i + 1}`);
    const plan = await patchCutover({ plan: { steps: [10, 50, 90], holdSeconds: 1, maxSyncLagSeconds: 600 }, thresholds: { minRequests: 20 }, allowlist: { new: { ips: clients } } });
    expect(plan.body).toMatchObject({ percent: 10, plan: { maxSyncLagSeconds: 600 } });
    // Healthy and past its hold, but no sync has finished: the step holds.
    expect(await judgeAfterHold()).toMatchObject({ percent: 10, plan: { index: 0 } });

    const [path] = await legacyPaths();
    await uploadExport("lag-1", { users: [{ id: 77_001, username: "lag-user" }], files: [{ id: 77_001, userId: 77_001, fileId: "7a000000-0000-4000-8000-000000000001", path: path! }] });
    const delta = await runJob("delta", "lag-1");
    const { body: cutover } = await adminJson("/admin/cutover");
    expect(cutover.sync.lastSync).toMatchObject({ jobId: delta.id, kind: "delta", legacyChanges: 2 });
    expect(Date.parse(cutover.sync.lastSync.exportedAt)).toBeLessThanOrEqual(Date.parse(cutover.sync.lastSync.finishedAt));
    expect(cutover.sync.lagSeconds).toBeGreaterThanOrEqual(0);
    expect(cutover.sync.lagSeconds).toBeLessThan(600);
    expect((await adminJson("/admin/metrics")).body.sync).toEqual(cutover.sync);

    // Fresh enough now: the plan moves on (the job's own wake-ups may already have judged it).
    const after = await judgeAfterHold();
    expect(after.percent).toBeGreaterThanOrEqual(50);
    expect(after.plan.index).toBeGreaterThanOrEqual(1);
  });
});
