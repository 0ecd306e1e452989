import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, expect, it } from "vitest";
import { coordinator } from "../../src/env";
import { STAGES } from "../../src/coordinator/cutover-run-model";
import { addLegacyFiles, adminJson, clearLegacyFiles, fastRetries, resetPrimaryCoordinator, uploadCorpusExports, waitForAudit } from "../helpers";
import { finished, newAppTraffic, startRun, waitForRun, type Run } from "./run-helpers";

beforeAll(resetPrimaryCoordinator);

const WAITING_STAGES = ["copy", "canary", "final_delta", "verify", "watch"];
afterAll(clearLegacyFiles);

it(
  "walks copy → canary → maintenance → final delta → verify → validation → 100 % → maintenance off → complete, evicted in every waiting stage",
  async () => {
    await uploadCorpusExports("run-full");
    const started = await startRun({
      exportSet: "run-full",
      canary: { steps: [10, 50], holdSeconds: 1, maxSyncLagSeconds: 600 },
      thresholds: { minRequests: 5, windowSeconds: 10 },
      watchSeconds: 8,
      validation: { sample: 3 },
      jobSettings: fastRetries,
    });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ state: "running", stages: STAGES.map((name) => ({ name })) });

    const evictedIn = new Set<string>();
    let duringCanary: { fileId: string; id: number; sha256: string }[] = [];
    let finalUploaded = false;
    const run = await waitForRun(finished, async (r: Run) => {
      // A redeploy or an eviction in the middle of each stage that waits: the run goes on from storage.
      // (The others end within the wake-up that starts them; the validation's report is stored only once it is whole.)
      if (r.stage && WAITING_STAGES.includes(r.stage) && !evictedIn.has(r.stage)) {
        evictedIn.add(r.stage);
        await evictDurableObject(coordinator(env));
      }
      if (r.stage === "canary") {
        await newAppTraffic(8);
        if (duringCanary.length === 0) {
          // Legacy users keep writing during the canary: one file before a fresh export, one after it.
          duringCanary = await addLegacyFiles(1);
          await uploadCorpusExports("run-canary", "main", true);
          duringCanary.push(...(await addLegacyFiles(1)));
        }
      }
      if (r.stage === "final_delta" && !finalUploaded && r.waitingFor?.includes("export set")) {
        await uploadCorpusExports("run-final", "main", true);
        finalUploaded = true;
      }
    });

    expect(run.attention).toBeNull();
    expect(run.state).toBe("completed");
    expect(run.stages.map((s) => [s.name, s.state])).toEqual(STAGES.map((name) => [name, "done"]));
    // Every stage has its timestamps, in order.
    let previous = Date.parse(run.createdAt!);
    for (const stage of run.stages) {
      const begun = Date.parse(stage.startedAt!);
      const ended = Date.parse(stage.endedAt!);
      expect(begun).toBeGreaterThanOrEqual(previous);
      expect(ended).toBeGreaterThanOrEqual(begun);
      previous = ended;
    }
    expect([...evictedIn].sort()).toEqual([...WAITING_STAGES].sort());
    expect(run.gate).toMatchObject({ phase: "complete", percent: 100, maintenance: false });

    // The canary's delta took the file uploaded in its export; the final delta, the one added after.
    const stage = (name: string) => run.stages.find((s) => s.name === name)!;
    const job = async (id: string) => (await adminJson(`/admin/jobs/${id}`)).body;
    const canaryDelta = await job(stage("canary").jobIds.at(-1)!);
    expect(canaryDelta).toMatchObject({ kind: "delta", exportSet: "run-canary", state: "completed", items: { total: 1, done: 1 } });
    expect(stage("final_delta").exportSet).toBe("run-final");
    const finalDelta = await job(stage("final_delta").jobIds[0]!);
    expect(finalDelta).toMatchObject({ kind: "delta", exportSet: "run-final", state: "completed", items: { total: 1, done: 1 } });
    for (const file of duringCanary) {
      const row = await env.DB.prepare(`SELECT checksum, r2_key FROM files WHERE id = ?`).bind(file.fileId).first<{ checksum: string; r2_key: string }>();
      expect(row?.checksum).toBe(file.sha256);
      expect(await env.FILES.head(row!.r2_key)).not.toBeNull();
    }
    expect(await job(stage("verify").jobIds[0]!)).toMatchObject({ kind: "verify", state: "completed" });

    // The validation suite passed, and its report is kept with the run.
    const validation = run.validation as { ok: boolean; checks: { group: string; ok: boolean; ms: number }[] };
    expect(validation.ok).toBe(true);
    expect(new Set(validation.checks.map((c) => c.group))).toEqual(new Set(["authentication", "files", "processing", "integrity"]));
    expect(validation.checks.every((c) => c.ok && c.ms >= 0)).toBe(true);

    const audited = await waitForAudit("cutover.run.%", (rows) => rows.some((a) => a.action === "cutover.run.completed"));
    expect(audited.map((a) => a.action)).toEqual(expect.arrayContaining(["cutover.run.start", "cutover.run.completed"]));
  },
  150_000,
);
