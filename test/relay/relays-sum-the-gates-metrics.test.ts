// Relays sum the gates' metric batches into at most one coordinator call per RELAY_FLUSH_MS each,
// and lose nothing: every request a gate counted reaches the analysis, even across a relay restart.
import { env } from "cloudflare:workers";
import { createExecutionContext, evictDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { coordinator, COORDINATOR_NAME } from "../../src/env";
import { emptyHistogram, latencyBucket } from "../../src/cutover/histogram";
import type { BackendSample } from "../../src/cutover/metrics-model";
import { RELAY_FLUSH_MS } from "../../src/relay/gate-relay";
import { relay } from "../../src/relay/shards";
import { Gate } from "../../src/cutover/gate";
import { MetricsBuffer } from "../../src/cutover/metrics-buffer";
import { CutoverStateCache } from "../../src/cutover/state-cache";
import { UserDirectory } from "../../src/cutover/user-directory";
import { controlPlane } from "../../src/relay/control-plane";
import { patchCutover, resetPrimaryCoordinator } from "../helpers";

function batch(requests: number, errors: number): BackendSample[] {
  const histogram = emptyHistogram();
  histogram[latencyBucket(20)] = requests;
  return [{ backend: "workers", version: 1, requests, errors, histogram, answered: [0, requests - errors, 0, 3, errors], latencySumMs: 20 * requests }];
}

async function waitForRequests(expected: number): Promise<void> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
    if ((await coordinator(env).metrics(600)).workers.requests === expected) return;
  }
  expect((await coordinator(env).metrics(600)).workers.requests).toBe(expected);
}

describe("relays and the request metrics", () => {
  beforeEach(resetPrimaryCoordinator);

  it("200 batches from many gates reach the coordinator whole, in a few calls", async () => {
    const before = await coordinator(env).controlPlaneCalls();
    const started = Date.now();
    // 200 isolates' batches over two relays, each of 5 requests with 1 error.
    await Promise.all(Array.from({ length: 200 }, (_, i) => relay(env, i % 2, COORDINATOR_NAME).recordMetrics(batch(5, 1))));
    await waitForRequests(1_000);
    const seconds = (Date.now() - started) / 1000;
    const calls = (await coordinator(env).controlPlaneCalls()).metricBatches - before.metricBatches;
    // Each relay flushes at once, then at most once per RELAY_FLUSH_MS.
    expect(calls).toBeLessThanOrEqual(2 * (1 + Math.ceil((seconds * 1000) / RELAY_FLUSH_MS)));
    expect(calls).toBeLessThan(20);
    expect(await coordinator(env).metrics(600)).toMatchObject({ workers: { requests: 1_000, errors: 200 } });
    const counters = await coordinator(env).metricsCounters();
    expect(counters.workers.answered).toEqual({ "1xx": 0, "2xx": 800, "3xx": 0, "4xx": 600, "5xx": 200 });
    expect(counters.workers.latencySumMs).toBe(20_000);
  });

  it("metrics a relay holds when it is evicted are delivered by its next instance", async () => {
    const stub = relay(env, 3, COORDINATOR_NAME);
    await stub.recordMetrics(batch(7, 0));
    await waitForRequests(7);
    // The next batch waits for RELAY_FLUSH_MS; the relay is evicted meanwhile.
    await stub.recordMetrics(batch(11, 2));
    await evictDurableObject(stub);
    await waitForRequests(18);
    expect((await coordinator(env).metrics(600)).workers.errors).toBe(2);
  });
});

describe("the analysis through the relays", () => {
  beforeEach(resetPrimaryCoordinator);

  it("an error storm at a gate that flushes to a relay rolls the cutover back within a few seconds", async () => {
    expect((await patchCutover({ percent: 100, thresholds: { minRequests: 60, errorRate: 0.05, windowSeconds: 60 } })).body.phase).toBe("cutover");
    const gate = new Gate(new CutoverStateCache(() => controlPlane(env, 2).readState(), 0), new MetricsBuffer(25, 60_000), new UserDirectory(env.DB), async () => new Response("down", { status: 503 }), controlPlane(env, 2));
    for (let i = 0; i < 100; i++) {
      const ctx = createExecutionContext();
      const res = await gate.handle(new Request("https://list-cutter.test/api/list_cutter/list_saved_files/", { headers: { "cf-connecting-ip": `198.51.100.${i + 1}` } }), env, ctx);
      await waitOnExecutionContext(ctx);
      await res.arrayBuffer();
    }
    let phase = "";
    for (const deadline = Date.now() + 5_000; Date.now() < deadline && phase !== "rolled_back"; await new Promise((r) => setTimeout(r, 100))) phase = (await coordinator(env).getCutover()).phase;
    expect(phase).toBe("rolled_back");
    // The relay the gate reads from had the rollback pushed to it.
    expect((await controlPlane(env, 2).readState()).phase).toBe("rolled_back");
  });
});

describe("a relay's flush, sent again", () => {
  beforeEach(resetPrimaryCoordinator);

  it("is counted once by the coordinator under its batch id", async () => {
    const stub = coordinator(env);
    await stub.recordMetrics(batch(9, 1), "relay-test:1");
    await stub.recordMetrics(batch(9, 1), "relay-test:1");
    await stub.recordMetrics(batch(4, 0), "relay-test:2");
    expect(await stub.metrics(600)).toMatchObject({ workers: { requests: 13, errors: 1 } });
  });

  it("drops malformed samples at the relay and keeps the good ones", async () => {
    const bad = [
      { ...batch(5, 0)[0]!, backend: "evil" },
      { ...batch(5, 0)[0]!, requests: -3 },
      { ...batch(5, 0)[0]!, histogram: new Array(1_000).fill(1) },
    ] as unknown as BackendSample[];
    await relay(env, 5, COORDINATOR_NAME).recordMetrics([...bad, ...batch(6, 2)]);
    await waitForRequests(6);
    expect((await coordinator(env).metrics(600)).workers.errors).toBe(2);
  });
});
