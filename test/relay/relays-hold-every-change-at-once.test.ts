// The coordinator pushes each committed cutover state to every relay before the call that made it
// returns, so gates reading from relays see a change within their own cache TTL.
import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { coordinator, COORDINATOR_NAME } from "../../src/env";
import { RELAY_REFRESH_MS } from "../../src/relay/gate-relay";
import { relay, relayShards } from "../../src/relay/shards";
import { patchCutover, resetPrimaryCoordinator } from "../helpers";

const shards = () => Array.from({ length: relayShards(env) }, (_, i) => relay(env, i, COORDINATOR_NAME));

describe("relays and the cutover state", () => {
  beforeEach(resetPrimaryCoordinator);

  it("every relay holds a change when the operator's call returns, without reading the coordinator", async () => {
    expect(shards().length).toBeGreaterThan(1);
    // Each relay reads once (cold), then serves from what it holds.
    for (const stub of shards()) expect((await stub.getCutover()).percent).toBe(0);
    const before = await coordinator(env).controlPlaneCalls();
    for (const percent of [10, 35, 0]) {
      const { status, body } = await patchCutover({ percent });
      expect(status).toBe(200);
      for (const stub of shards()) expect(await stub.getCutover()).toMatchObject({ percent, version: body.version });
    }
    const rollback = await coordinator(env).rollbackCutover("relay test", "checking the push");
    expect(rollback.ok).toBe(true);
    for (const stub of shards()) expect((await stub.getCutover()).phase).toBe("rolled_back");
    expect((await coordinator(env).controlPlaneCalls()).stateReads).toBe(before.stateReads);
  });

  it("a relay that missed a change reads it itself within RELAY_REFRESH_MS", async () => {
    const stub = relay(env, 0, COORDINATOR_NAME);
    const held = await stub.getCutover();
    // A change written past the fan-out, as a lost push would leave it.
    await runInDurableObject(coordinator(env), async (_instance, state) => {
      const next = { ...held, percent: 42, phase: "canary", version: held.version + 1 };
      state.storage.sql.exec(`INSERT INTO cutover_state (id, state) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state`, JSON.stringify(next));
    });
    expect((await stub.getCutover()).percent).toBe(0);
    await new Promise((r) => setTimeout(r, RELAY_REFRESH_MS + 100));
    expect(await stub.getCutover()).toMatchObject({ percent: 42, version: held.version + 1 });
  });

  it("a coordinator whose storage was wiped starts a new epoch: relays take its lower versions", async () => {
    await patchCutover({ percent: 20 });
    await patchCutover({ percent: 30 });
    const high = await relay(env, 1, COORDINATOR_NAME).getCutover();
    expect(high.version).toBeGreaterThanOrEqual(2);
    await runInDurableObject(coordinator(env), async (_instance, state) => {
      await state.storage.deleteAll();
    });
    await evictDurableObject(coordinator(env));
    // The object starts again from migration 1 with a fresh epoch; its first change is version 1.
    const { body } = await patchCutover({ percent: 5 });
    expect(body.version).toBeLessThan(high.version);
    expect(await relay(env, 1, COORDINATOR_NAME).getCutover()).toMatchObject({ percent: 5, version: body.version });
  });
});
