import { beforeEach, expect, it } from "vitest";
import { adminJson, fastRetries, patchCutover, resetPrimaryCoordinator, uploadCorpusExports, waitForAudit } from "../helpers";
import { CANARY_CLIENT, failingNewApp, finished, getRun, startRun, waitForRun } from "./run-helpers";

beforeEach(resetPrimaryCoordinator);

it("rolls back and stops when the canary analysis turns unhealthy", async () => {
  await uploadCorpusExports("run-sick");
  await patchCutover({ allowlist: { new: { ips: [CANARY_CLIENT] } } });
  const started = await startRun({
    exportSet: "run-sick",
    canary: { steps: [20, 60], holdSeconds: 30 },
    thresholds: { minRequests: 10, errorRate: 0.05, windowSeconds: 10 },
    jobSettings: fastRetries,
  });
  expect(started.status).toBe(201);

  const rolled = await waitForRun(finished, async (r) => {
    // The new app answers 503 to the canary's users: the analysis rolls back, and the run with it.
    if (r.stage === "canary" && r.gate.phase === "canary") await failingNewApp(20);
  });

  expect(rolled.state).toBe("rolled_back");
  expect(rolled.attention).toMatch(/rolled back by analysis/);
  expect(rolled.stages.map((s) => s.state)).toEqual(["done", "failed", "pending", "pending", "pending", "pending", "pending", "pending", "pending"]);
  expect(rolled.gate).toMatchObject({ phase: "rolled_back", percent: 0, maintenance: false, plan: null });
  const rollback = (await adminJson("/admin/cutover")).body.history.find((h: { action: string }) => h.action === "cutover.rollback");
  expect(rollback).toMatchObject({ actor: "analysis", details: { reason: "5xx rate 100.0% > 5.0%" } });

  // It stays stopped: no stage starts, no job is created, the cutover stays on legacy.
  const jobsBefore = (await adminJson("/admin/jobs")).body.jobs.length;
  await new Promise((r) => setTimeout(r, 2_500));
  const later = (await getRun()).body;
  expect(later.state).toBe("rolled_back");
  expect(later.stages.slice(2).every((s) => s.state === "pending" && s.startedAt === null)).toBe(true);
  expect((await adminJson("/admin/jobs")).body.jobs.length).toBe(jobsBefore);
  expect((await adminJson("/admin/cutover")).body).toMatchObject({ phase: "rolled_back", percent: 0 });
  expect(await waitForAudit("cutover.run.rolled_back", (rows) => rows.length > 0)).toHaveLength(1);
}, 120_000);
