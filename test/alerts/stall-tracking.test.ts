// A job's progress is remembered by signature: the same signature keeps the time it last moved, a new
// one restarts it, and jobs no longer active are forgotten.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { AlertStore } from "../../src/alerts/store";

describe("stall tracking", () => {
  it("keeps the time of the last change of a job's progress", async () => {
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName(`stall-${crypto.randomUUID()}`));
    await runInDurableObject(stub, (_i, state) => {
      const store = new AlertStore(state.storage.sql);
      expect(store.progress("j1", "copying|10|0", 1_000)).toBe(1_000);
      expect(store.progress("j1", "copying|10|0", 5_000)).toBe(1_000);
      expect(store.progress("j1", "copying|11|0", 6_000)).toBe(6_000);
      expect(store.progress("j1", "copying|11|0", 9_000)).toBe(6_000);
      store.forgetProgress([]);
      expect(store.progress("j1", "copying|11|0", 10_000)).toBe(10_000);
    });
  });
});
