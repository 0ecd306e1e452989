import { runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import type { MigrationCoordinator } from "../../src/coordinator/coordinator";
import { Wakeups, type WakeHandler } from "../../src/coordinator/wakeups";
import { ownCoordinator } from "../helpers";

const idle: WakeHandler = { run: async () => null, failed: () => null };

it("a wake-up whose run is cut short (an eviction mid-step) runs again, even when it was run outside the alarm", async () => {
  const stub = ownCoordinator("cut-short");
  await runInDurableObject(stub, async (_instance: MigrationCoordinator, state) => {
    await state.storage.deleteAlarm();
    // A step that never ends, as one cut short by a redeploy: run from an RPC (runNow), not the alarm.
    const hanging: WakeHandler = { run: () => new Promise<never>(() => {}), failed: () => null };
    const before = new Wakeups(state.storage, { job: idle, cutover: idle, audit: idle, roundtrip: idle, run: hanging, alerts: idle });
    const started = Date.now();
    void before.runNow("run");
    await new Promise((r) => setTimeout(r, 50));

    // The alarm is set for the fallback: nothing else would ever wake the object again.
    const alarm = await state.storage.getAlarm();
    expect(alarm).toBeGreaterThanOrEqual(started + 29_000);
    expect(alarm).toBeLessThanOrEqual(Date.now() + 30_000);

    // The object restarts; when the alarm comes, the cut-short reason runs again.
    const ran: string[] = [];
    const after = new Wakeups(state.storage, {
      job: idle,
      cutover: idle,
      audit: idle,
      roundtrip: idle,
      alerts: idle,
      run: { run: async () => (ran.push("run"), null), failed: () => null },
    });
    await after.alarm();
    expect(ran).toEqual(["run"]);
    // Run to its end, it leaves no fallback and no alarm behind.
    const row = state.storage.sql.exec<{ at: number | null; fallback_at: number | null }>(`SELECT at, fallback_at FROM wakeups WHERE reason = 'run'`).one();
    expect(row).toEqual({ at: null, fallback_at: null });
  });
});

it("a wake-up asked for while a reason runs stands, however far ahead it is", async () => {
  const stub = ownCoordinator("asked-while-running");
  await runInDurableObject(stub, async (_instance: MigrationCoordinator, state) => {
    await state.storage.deleteAlarm();
    const later = Date.now() + 120_000;
    let wakeups!: Wakeups;
    const asking: WakeHandler = {
      run: async () => {
        await wakeups.request("job", later);
        return null;
      },
      failed: () => null,
    };
    wakeups = new Wakeups(state.storage, { job: asking, cutover: idle, audit: idle, roundtrip: idle, run: idle, alerts: idle });
    await wakeups.runNow("job");
    expect(state.storage.sql.exec<{ at: number | null }>(`SELECT at FROM wakeups WHERE reason = 'job'`).one().at).toBe(later);
    // The alarm stays no later than it (an alarm that comes early runs the earliest reason: harmless).
    expect(await state.storage.getAlarm()).toBeLessThanOrEqual(later);
  });
});
