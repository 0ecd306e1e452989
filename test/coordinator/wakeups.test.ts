import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { MigrationCoordinator } from "../../src/coordinator/coordinator";
import { changeByHand, jobOf, ownCoordinator, wakeByHand } from "../helpers";

describe("the coordinator's wake-ups", () => {
  it("run each reason on its own: a cutover evaluation that throws does not stop the job step of the same alarm", async () => {
    const stub = ownCoordinator("wakeups");
    // A canary plan holding each step for a second: the analysis wants to judge again in a second.
    const planned = await changeByHand(stub, async (instance, state) => {
      const outcome = await instance.updateCutover({ plan: { steps: [10, 50], holdSeconds: 1 } }, "test");
      // Every evaluation throws from now on; and only the test runs the alarm.
      state.storage.sql.exec(`DROP TABLE request_metrics`);
      return outcome;
    });
    expect(planned).toMatchObject({ ok: true, value: { phase: "canary", percent: 10 } });
    await new Promise((r) => setTimeout(r, 1_100));
    // A verify job over an empty D1: planning, then verifying, then done, one alarm step each.
    const id = await changeByHand(stub, async (instance) => {
      const created = await instance.createJob({ kind: "verify" }, "test");
      if (!created.ok) throw new Error(created.error);
      return created.value.id;
    });

    for (let i = 0; i < 10 && (await jobOf(stub, id)).state !== "completed"; i++) await wakeByHand(stub);

    expect(await jobOf(stub, id)).toMatchObject({ state: "completed", items: { total: 0 } });
    // The evaluation did run (with the job's first step) and threw; its failure is counted on its own.
    const failures = await runInDurableObject(stub, (_instance: MigrationCoordinator, state) =>
      state.storage.sql.exec<{ reason: string; failures: number }>(`SELECT reason, failures FROM wakeups ORDER BY reason`).toArray(),
    );
    expect(failures).toEqual([
      { reason: "alerts", failures: 0 },
      { reason: "audit", failures: 0 },
      { reason: "cutover", failures: 1 },
      { reason: "job", failures: 0 },
    ]);
    expect(await stub.getCutover()).toMatchObject({ phase: "canary", percent: 10 });
  });

  it("push the audit entry of a change the alarm makes (a canary plan's next step) to D1 from the alarm itself", async () => {
    const stub = ownCoordinator("alarm-audit");
    // Healthy traffic under the plan's first step, judged before its hold is over: no step yet.
    await changeByHand(stub, async (instance) => {
      const planned = await instance.updateCutover({ plan: { steps: [10, 50], holdSeconds: 1 }, thresholds: { minRequests: 5 } }, "test");
      if (!planned.ok) throw new Error(planned.error);
      await instance.recordMetrics([{ backend: "workers", version: planned.value.version, requests: 10, errors: 0, histogram: [] }]);
    });
    expect(await stub.getCutover()).toMatchObject({ percent: 10, plan: { index: 0 } });
    await new Promise((r) => setTimeout(r, 1_100));
    const advances = async () => (await env.DB.prepare(`SELECT count(*) AS n FROM audit_logs WHERE action = 'cutover.advance'`).first<{ n: number }>())!.n;
    const before = await advances();

    await wakeByHand(stub);

    expect(await stub.getCutover()).toMatchObject({ percent: 50, plan: { index: 1 }, updatedBy: "analysis" });
    expect(await advances()).toBe(before + 1);
  });
});
