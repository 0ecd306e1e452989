import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { admin, adminJson, corpus, fastRetries, postJson, startJob, uploadCorpusExports, waitForJob } from "../helpers";

const UNKNOWN = "00000000-0000-4000-8000-000000000000";

describe("the job API refuses bad input with a 4xx naming the field", () => {
  it.each([
    [{ kind: "full", exportSet: "x", extra: 1 }, "extra"],
    [{ kind: "sideways", exportSet: "x" }, "kind"],
    [{ kind: "full" }, "exportSet"],
    [{ kind: "full", exportSet: "../up" }, "exportSet"],
    [{ kind: "full", exportSet: "x", settings: { maxInFlight: 0 } }, "settings.maxInFlight"],
    [{ kind: "full", exportSet: "x", settings: { batchSize: "ten" } }, "settings.batchSize"],
    [{ kind: "full", exportSet: "x", settings: { turbo: true } }, "settings.turbo"],
    [[], "body"],
  ])("POST /admin/jobs %j → 400 on %s", async (body, field) => {
    const res = await postJson("/admin/jobs", body);
    expect(res.status).toBe(400);
    expect(res.body.field).toBe(field);
    expect(res.body.error).toContain(field === "body" ? "" : field);
  });

  it("rejects malformed JSON and an export set that was never uploaded", async () => {
    const bad = await admin("/admin/jobs", { method: "POST", body: "{kind: full", headers: { "content-type": "application/json" } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: "body is not valid JSON", field: "body" });
    const missing = await postJson("/admin/jobs", { kind: "full", exportSet: "never-uploaded" });
    expect(missing).toEqual({ status: 400, body: { error: "export set 'never-uploaded' has no users.csv", field: "exportSet" } });
  });

  it("answers 404 for an unknown job and 400 for a malformed id or action", async () => {
    expect((await adminJson(`/admin/jobs/${UNKNOWN}`)).status).toBe(404);
    expect((await adminJson(`/admin/jobs/${UNKNOWN}/failures`)).status).toBe(404);
    expect((await postJson(`/admin/jobs/${UNKNOWN}/pause`, {})).status).toBe(404);
    expect(await adminJson("/admin/jobs/not-a-uuid")).toMatchObject({ status: 400, body: { field: "id" } });
    expect(await postJson(`/admin/jobs/${UNKNOWN}/explode`, {})).toMatchObject({ status: 400, body: { field: "action" } });
    expect(await adminJson(`/admin/jobs/${UNKNOWN}/failures?limit=0`)).toMatchObject({ status: 400, body: { field: "limit" } });
  });
});

describe("pause, resume and cancel", () => {
  it("pause stops dispatch, resume finishes the job, and only one job runs at a time", async () => {
    const files = (await corpus()).files.filter((f) => !f.oversize);
    await uploadCorpusExports("pausing");
    const id = await startJob({ kind: "full", exportSet: "pausing", settings: { ...fastRetries, maxInFlight: 2, batchSize: 1, ratePerSecond: 4 } });
    expect(await postJson("/admin/jobs", { kind: "full", exportSet: "pausing" })).toMatchObject({ status: 409 });

    await waitForJob(id, (j) => j.state === "copying" && j.items.done >= 2);
    const paused = await postJson(`/admin/jobs/${id}/pause`, {});
    expect(paused).toMatchObject({ status: 200, body: { paused: true, state: "copying" } });
    const drained = await waitForJob(id, (j) => j.items.leased === 0);
    await new Promise((r) => setTimeout(r, 1_500));
    const still = (await adminJson(`/admin/jobs/${id}`)).body;
    expect(still.items.done).toBe(drained.items.done);
    expect(still.items.pending).toBeGreaterThan(0);

    expect(await postJson(`/admin/jobs/${id}/resume`, {})).toMatchObject({ status: 200, body: { paused: false } });
    const done = await waitForJob(id);
    expect(done).toMatchObject({ state: "completed", items: { done: files.length } });
    expect(await postJson(`/admin/jobs/${id}/pause`, {})).toMatchObject({ status: 409 });
    expect(await postJson(`/admin/jobs/${id}/retry-failed`, {})).toMatchObject({ status: 409 });

    const actions = await env.DB.prepare(`SELECT action FROM audit_logs WHERE target = ? ORDER BY id`).bind(id).all<{ action: string }>();
    expect(actions.results.map((r) => r.action)).toEqual(["job.create", "job.pause", "job.resume"]);
  });

  it("cancel stops a job for good", async () => {
    const id = await startJob({ kind: "full", exportSet: "pausing", settings: { ...fastRetries, maxInFlight: 1, batchSize: 1, ratePerSecond: 1 } });
    await waitForJob(id, (j) => j.state === "copying");
    expect(await postJson(`/admin/jobs/${id}/cancel`, {})).toMatchObject({ status: 200, body: { state: "cancelled" } });
    await new Promise((r) => setTimeout(r, 1_500));
    const job = (await adminJson(`/admin/jobs/${id}`)).body;
    expect(job.state).toBe("cancelled");
    expect(job.items.pending).toBeGreaterThan(0);
    expect(job.finishedAt).not.toBeNull();
    expect(await postJson(`/admin/jobs/${id}/resume`, {})).toMatchObject({ status: 409 });
  });
});
