import { describe, expect, it } from "vitest";
import { CutoverStateCache } from "../../src/cutover/state-cache";
import { INITIAL_CUTOVER, type CutoverState } from "../../src/cutover/state";

function fakeCoordinator() {
  const calls = { n: 0 };
  let state: CutoverState = { ...INITIAL_CUTOVER, version: 1 };
  let failing = false;
  return {
    calls,
    set: (s: Partial<CutoverState>) => (state = { ...state, ...s }),
    fail: (f: boolean) => (failing = f),
    load: async () => {
      calls.n++;
      if (failing) throw new Error("coordinator unreachable");
      return state;
    },
  };
}

describe("the gate's cutover state cache", () => {
  it("reads the coordinator once per TTL however many requests ask", async () => {
    let now = 1_000;
    const coordinator = fakeCoordinator();
    const cache = new CutoverStateCache(coordinator.load, 2_000, 1_000, () => now);
    await Promise.all(Array.from({ length: 1_000 }, () => cache.get()));
    expect(coordinator.calls.n).toBe(1);
    now += 1_999;
    coordinator.set({ version: 2, percent: 50 });
    expect((await cache.get()).state!.version).toBe(1);
    now += 1;
    expect((await cache.get()).state).toMatchObject({ version: 2, percent: 50 });
    expect(coordinator.calls.n).toBe(2);
  });

  it("keeps the last known state, marked stale, while the coordinator cannot be read", async () => {
    let now = 0;
    const coordinator = fakeCoordinator();
    const cache = new CutoverStateCache(coordinator.load, 100, 1_000, () => now);
    coordinator.set({ version: 7, percent: 30 });
    expect(await cache.get()).toMatchObject({ stale: false, state: { version: 7 } });
    coordinator.fail(true);
    now += 100;
    expect(await cache.get()).toMatchObject({ stale: true, state: { version: 7, percent: 30 }, readAt: 0 });
    now += 50;
    await cache.get();
    expect(coordinator.calls.n).toBe(2); // a failed read also waits a TTL before the next try
    coordinator.fail(false);
    now += 100;
    expect(await cache.get()).toMatchObject({ stale: false, state: { version: 7 } });
  });

  it("times out a hanging read and, having never read a state, holds none (the gate fails closed)", async () => {
    const cache = new CutoverStateCache(() => new Promise<CutoverState>(() => {}), 1_000, 50);
    const got = await cache.get();
    expect(got).toEqual({ stale: true, readAt: null, state: null });
  });
});
