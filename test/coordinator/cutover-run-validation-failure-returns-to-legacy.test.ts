import { beforeEach, expect, it } from "vitest";
import { adminJson, clearFaults, fastRetries, resetPrimaryCoordinator, setFaults, uploadCorpusExports } from "../helpers";
import { finished, newAppTraffic, startRun, waitForRun } from "./run-helpers";

beforeEach(resetPrimaryCoordinator);

it("a run whose validation fails turns maintenance off on legacy, and keeps the report", async () => {
  await uploadCorpusExports("run-invalid");
  expect(
    (
      await startRun({
        exportSet: "run-invalid",
        canary: { steps: [25], holdSeconds: 1 },
        thresholds: { minRequests: 5, windowSeconds: 10 },
        validation: { sample: 4 },
        jobSettings: fastRetries,
      })
    ).status,
  ).toBe(201);

  let uploaded = false;
  try {
    const run = await waitForRun(finished, async (r) => {
      if (r.stage === "canary") await newAppTraffic(8);
      if (r.stage === "final_delta" && !uploaded && r.waitingFor?.includes("export set")) {
        await uploadCorpusExports("run-invalid-final");
        uploaded = true;
      }
      // The legacy origin's copies no longer match: the validation's file check must catch it.
      if (r.stage === "verify") await setFaults([{ match: "uploads/", kind: "status", status: 500 }]);
    });

    expect(run.state).toBe("rolled_back");
    expect(run.attention).toMatch(/^validate: validation failed: legacy-origin/);
    expect(run.stages.map((s) => [s.name, s.state])).toEqual([
      ["copy", "done"],
      ["canary", "done"],
      ["maintenance", "done"],
      ["final_delta", "done"],
      ["verify", "done"],
      ["validate", "failed"],
      ["switch", "pending"],
      ["maintenance_off", "pending"],
      ["watch", "pending"],
    ]);
    // Back on legacy, maintenance off: users are served again, by legacy.
    expect(run.gate).toMatchObject({ phase: "rolled_back", percent: 0, maintenance: false });
    const state = (await adminJson("/admin/cutover")).body;
    expect(state).toMatchObject({ phase: "rolled_back", percent: 0, maintenance: { enabled: false } });
    // The report is stored with the run: the files check failed, naming the legacy answers.
    const report = run.validation as { ok: boolean; checks: { group: string; ok: boolean; failures?: string[] }[] };
    expect(report.ok).toBe(false);
    const files = report.checks.filter((c) => c.group === "files" && !c.ok);
    expect(files.length).toBeGreaterThan(0);
    expect(report.checks.filter((c) => c.group === "processing").every((c) => c.ok)).toBe(true);
  } finally {
    await clearFaults();
  }
}, 150_000);
