import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import type { MigrationCoordinator } from "../../src/coordinator/coordinator";
import { runPlanSchema, type RunRecord } from "../../src/coordinator/cutover-run-model";
import type { RunView } from "../../src/coordinator/cutover-run-view";
import { exportObjectKey } from "../../src/legacy/export-contract";
import { changeByHand, originUrl, ownCoordinator, wakeByHand } from "../helpers";

it("a run cut short right after creating its job adopts that job on the next wake-up instead of starting another", async () => {
  // Exports with their headers and no rows: the job plans in a step or two and has nothing to copy.
  for (const table of ["users", "files"] as const) {
    const header = (await (await fetch(`${originUrl}/__exports/${table}.csv`)).text()).split("\n")[0];
    await env.FILES.put(exportObjectKey("orphan", table), `${header}\n`);
  }
  const stub = ownCoordinator("orphan-job");
  const plan = runPlanSchema.parse({ exportSet: "orphan", canary: { steps: [10], holdSeconds: 60 } });
  const started = await changeByHand(stub, (instance) => instance.startRun(plan, "test"));
  if (!started.ok) throw new Error(started.error);
  // (RPC types turn the view's `unknown` fields into never: read it as the view it is.)
  const first = (started as unknown as { value: RunView }).value.stages[0]!.jobIds[0]!;
  expect(first).toBeDefined();

  await runInDurableObject(stub, async (_instance: MigrationCoordinator, state) => {
    // As if the step had been cut short between committing the job and storing its id in the stage.
    const row = state.storage.sql.exec<{ record: string }>(`SELECT record FROM cutover_runs`).one();
    const run = JSON.parse(row.record) as RunRecord;
    run.stages[0]!.jobIds = [];
    state.storage.sql.exec(`UPDATE cutover_runs SET record = ?`, JSON.stringify(run));
  });
  // The run's next look (its tick), on the alarm.
  await new Promise((r) => setTimeout(r, 2_100));
  await wakeByHand(stub);

  const view = ((await stub.getRun()) as unknown as { value: RunView }).value;
  expect(view.stages[0]!.jobIds).toEqual([first]);
  expect((await stub.listJobs()).map((j) => j.id)).toEqual([first]);
  expect(view.state).toBe("running");
});
