import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { adminJson, fastRetries, patchCutover, postJson, resetPrimaryCoordinator, uploadCorpusExports, waitForAudit } from "../helpers";
import { getRun, runAction, startRun, waitForRun } from "./run-helpers";

beforeEach(resetPrimaryCoordinator);

const plan = (exportSet: string, extra: Record<string, unknown> = {}) => ({ exportSet, canary: { steps: [10, 40], holdSeconds: 3_600 }, jobSettings: { ...fastRetries, ratePerSecond: 4 }, ...extra });

describe("a cutover run's operator controls", () => {
  it("refuses bad plans and controls with a 4xx naming the field", async () => {
    expect((await getRun()).status).toBe(404);
    expect(await runAction("pause")).toMatchObject({ status: 409 });
    expect(await startRun({ canary: { steps: [10], holdSeconds: 5 } })).toMatchObject({ status: 400, body: { field: "exportSet" } });
    expect(await startRun(plan("nowhere"))).toMatchObject({ status: 400, body: { field: "exportSet", error: "export set 'nowhere' has no users.csv" } });
    expect(await startRun({ ...plan("x"), canary: { steps: [10, 100], holdSeconds: 5 } })).toMatchObject({ status: 400, body: { field: "canary.steps" } });
    expect(await startRun({ ...plan("x"), timeouts: { copy: 0 } })).toMatchObject({ status: 400, body: { field: "timeouts.copy" } });
    expect(await startRun({ ...plan("x"), surprise: 1 })).toMatchObject({ status: 400, body: { field: "surprise" } });
    expect(await runAction("explode")).toMatchObject({ status: 400, body: { field: "action" } });
    expect(await startRun({ ...plan("x"), watchSeconds: 3_600, timeouts: { watch: 600 } })).toMatchObject({ status: 400, body: { field: "watchSeconds" } });
    expect(await startRun({ ...plan("x"), canary: { steps: [10, 20], holdSeconds: 600 }, timeouts: { canary: 1_000 } })).toMatchObject({ status: 400, body: { field: "canary.holdSeconds" } });

    await uploadCorpusExports("run-controls-bad");
    // A run starts with users served: not in maintenance.
    await patchCutover({ maintenance: { enabled: true } });
    expect(await startRun(plan("run-controls-bad"))).toMatchObject({ status: 409, body: { field: "phase" } });
    await patchCutover({ maintenance: { enabled: false } });
    expect((await startRun(plan("run-controls-bad"))).status).toBe(201);
    expect(await startRun(plan("run-controls-bad"))).toMatchObject({ status: 409 });
    expect(await runAction("skip", { stage: "copy" })).toMatchObject({ status: 400, body: { field: "reason" } });
    expect(await runAction("skip", { stage: "canary", reason: "not yet" })).toMatchObject({ status: 409, body: { field: "stage" } });
    expect(await runAction("pause", "not an object")).toMatchObject({ status: 400, body: { field: "body" } });
    expect(await runAction("resume")).toMatchObject({ status: 409 });
    expect((await runAction("abort", { reason: "test over" })).body.state).toBe("aborted");
  });

  it("pauses (and its job with it), resumes, skips a stage with a reason, and aborts as a rollback", async () => {
    await uploadCorpusExports("run-controls");
    expect((await startRun(plan("run-controls"))).status).toBe(201);

    const paused = await runAction("pause", { reason: "operator is on a call" });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ state: "paused", stage: "copy", attention: "operator is on a call", waitingFor: expect.stringMatching(/operator/) });
    expect(paused.body.job).toMatchObject({ kind: "full", paused: true });
    // Paused means paused: the stage does not move on.
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await getRun()).body).toMatchObject({ state: "paused", stage: "copy" });

    const resumed = await runAction("resume");
    expect(resumed.body).toMatchObject({ state: "running", attention: null, job: { paused: false } });

    // The canary holds for an hour: the operator skips it, with a reason.
    const canary = await waitForRun((r) => r.stage === "canary" && r.gate.phase === "canary");
    expect(canary.gate).toMatchObject({ percent: 10, plan: { step: 1, of: 2, held: false } });
    const skipped = await runAction("skip", { stage: "canary", reason: "canary verified by hand" });
    expect(skipped.status).toBe(200);
    expect(skipped.body.stages.find((s: { name: string }) => s.name === "canary")).toMatchObject({ state: "skipped", note: "canary verified by hand" });
    const audited = await env.DB.prepare(`SELECT actor, details FROM audit_logs WHERE action = 'cutover.run.skip'`).first<{ actor: string; details: string }>();
    expect(audited?.actor).toMatch(/^admin/);
    expect(JSON.parse(audited!.details)).toMatchObject({ stage: "canary", reason: "canary verified by hand" });

    // In maintenance, the final delta waits for an export taken after writes stopped, and says so.
    const waiting = await waitForRun((r) => r.stage === "final_delta" && Boolean(r.waitingFor));
    expect(waiting.waitingFor).toMatch(/export set .* uploaded after maintenance began/);
    expect(waiting.gate).toMatchObject({ phase: "maintenance", maintenance: true });
    expect(waiting.stages.find((s) => s.name === "final_delta")).toMatchObject({ state: "running", timeoutAt: expect.any(String), rule: { onFailure: "rollback" } });

    const aborted = await runAction("abort", { reason: "change freeze" });
    expect(aborted.body).toMatchObject({ state: "aborted", attention: "change freeze" });
    expect(aborted.body.gate).toMatchObject({ phase: "rolled_back", percent: 0, maintenance: false });
    expect((await adminJson("/admin/cutover")).body).toMatchObject({ phase: "rolled_back", maintenance: { enabled: false } });
    expect(await runAction("resume")).toMatchObject({ status: 409 });
  }, 90_000);

  it("a stage that times out pauses the run; resuming gives it its whole timeout again", async () => {
    await uploadCorpusExports("run-timeout");
    // No traffic reaches the new app: the canary cannot get a verdict and times out after 3 s.
    expect((await startRun({ ...plan("run-timeout"), jobSettings: fastRetries, canary: { steps: [10], holdSeconds: 1 }, timeouts: { canary: 3 } })).status).toBe(201);
    const paused = await waitForRun((r) => r.state === "paused");
    expect(paused).toMatchObject({ stage: "canary", attention: expect.stringMatching(/^canary: timed out after 3 s waiting for step 1\/1/) });
    expect(paused.gate.plan).toMatchObject({ held: true });
    const pauses = await waitForAudit("cutover.run.pause", (rows) => rows.at(-1)?.details.stage === "canary");
    expect(pauses.at(-1)!.details).toMatchObject({ stage: "canary", failure: true });

    const resumedAt = Date.now();
    expect((await runAction("resume")).body).toMatchObject({ state: "running", gate: { plan: { held: false } } });
    // Half its timeout after the resume was asked for, the stage is still running.
    await new Promise((r) => setTimeout(r, Math.max(0, resumedAt + 1_500 - Date.now())));
    expect((await getRun()).body.state).toBe("running");
    const again = await waitForRun((r) => r.state === "paused");
    expect(Date.parse(again.updatedAt!) - resumedAt).toBeGreaterThanOrEqual(3_000);
  }, 60_000);

  it("a rollback by the operator in maintenance ends the run with maintenance off", async () => {
    await uploadCorpusExports("run-outside");
    expect((await startRun(plan("run-outside", { jobSettings: fastRetries }))).status).toBe(201);
    await waitForRun((r) => r.stage === "canary" && r.gate.phase === "canary");
    await runAction("skip", { stage: "canary", reason: "straight to maintenance" });
    await waitForRun((r) => r.stage === "final_delta" && r.gate.maintenance);

    expect((await postJson("/admin/cutover/rollback", { reason: "legacy DBA says no" })).status).toBe(200);
    const ended = await waitForRun((r) => r.state !== "running");
    expect(ended).toMatchObject({ state: "rolled_back", gate: { phase: "rolled_back", percent: 0, maintenance: false } });
    expect((await adminJson("/admin/cutover")).body.maintenance.enabled).toBe(false);
  }, 60_000);
});
