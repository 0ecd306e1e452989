// The control-plane bench's Worker: simulated gate isolates, each with the gate's own state cache
// and metrics buffer, reading and flushing through the project's control-plane client (relays, or
// the coordinator itself). GET /run?isolates=&relays=0|1&seconds=&rate= answers the run's numbers.
import type { Env } from "../../src/env";
import { coordinator } from "../../src/env";
import { MetricsBuffer } from "../../src/cutover/metrics-buffer";
import { cacheTtlMs, CutoverStateCache } from "../../src/cutover/state-cache";
import { controlPlane, type ControlPlane } from "../../src/relay/control-plane";
import { relayShards } from "../../src/relay/shards";

export { MigrationCoordinator } from "../../src/coordinator/coordinator";
export { GateRelay } from "../../src/relay/gate-relay";

const TICK_MS = 50;
const WARM_UP_MS = 3_000;
const PROPAGATION_LIMIT_MS = 20_000;

interface Isolate {
  plane: ControlPlane;
  cache: CutoverStateCache;
  metrics: MetricsBuffer;
  sawRollbackAt: number | null;
}

async function run(env: Env, isolates: number, viaRelays: boolean, seconds: number, ratePerIsolate: number) {
  const stub = coordinator(env);
  const reset = await stub.updateCutover({ phase: "canary", percent: 10 }, "bench");
  if (!reset.ok) throw new Error(`could not start from canary: ${reset.error}`);
  const shards = relayShards(env);
  const background = new Set<Promise<unknown>>();
  const ctx = { waitUntil: (p: Promise<unknown>) => void background.add(p.finally(() => background.delete(p))) };
  const begin = Date.now();
  // Isolates start at different moments, as they do at the edge: their caches refresh out of step.
  const startsAt = (i: number) => begin + (i / isolates) * cacheTtlMs(env);
  const sims: Isolate[] = Array.from({ length: isolates }, (_, i) => {
    const plane = controlPlane(env, viaRelays ? i % shards : null);
    const metrics = new MetricsBuffer();
    return { plane, cache: new CutoverStateCache(() => plane.readState(), cacheTtlMs(env)), metrics, sawRollbackAt: null };
  });
  let requests = 0;
  let carry = 0;
  let rollbackVersion = Infinity;
  const tick = async (now: number) => {
    carry += (ratePerIsolate * TICK_MS) / 1000;
    const perIsolate = Math.floor(carry);
    carry -= perIsolate;
    await Promise.all(
      sims.map(async (sim, i) => {
        if (now < startsAt(i)) return;
        for (let r = 0; r < perIsolate; r++) {
          const { state } = await sim.cache.get(ctx);
          if (!state) continue;
          requests++;
          if (state.version >= rollbackVersion && sim.sawRollbackAt === null) sim.sawRollbackAt = now;
          sim.metrics.record({ backend: state.percent > 0 && i % 10 === 0 ? "workers" : "legacy", version: state.version, status: 200, ms: 12, ip: `198.51.100.${(i + r) % 250}`, stickyHash: i, hasBody: false, judged: true });
          const batch = sim.metrics.takeIfDue();
          if (batch) ctx.waitUntil(sim.plane.sendMetrics(batch).catch(() => sim.metrics.restore(batch)));
        }
        // An isolate without requests this tick still notices a change at its next one.
        if (perIsolate === 0 && sim.sawRollbackAt === null && (sim.cache.peek().state?.version ?? 0) >= rollbackVersion) sim.sawRollbackAt = now;
      }),
    );
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  while (Date.now() - begin < WARM_UP_MS) {
    await tick(Date.now());
    await sleep(TICK_MS);
  }
  const before = await stub.controlPlaneCalls();
  const measuredFrom = Date.now();
  const requestsBefore = requests;
  while (Date.now() - measuredFrom < seconds * 1000) {
    await tick(Date.now());
    await sleep(TICK_MS);
  }
  const after = await stub.controlPlaneCalls();
  const measuredSeconds = (Date.now() - measuredFrom) / 1000;
  const servedPerSecond = (requests - requestsBefore) / measuredSeconds;

  // A rollback, and how long until every simulated isolate serves under it.
  const rolledAt = Date.now();
  const rolled = await stub.rollbackCutover("bench", "propagation");
  if (!rolled.ok) throw new Error(rolled.error);
  rollbackVersion = rolled.value.version;
  while (sims.some((s) => s.sawRollbackAt === null) && Date.now() - rolledAt < PROPAGATION_LIMIT_MS) {
    await tick(Date.now());
    await sleep(TICK_MS);
  }
  const delays = sims.map((s) => (s.sawRollbackAt === null ? null : s.sawRollbackAt - rolledAt)).filter((d): d is number => d !== null).sort((a, b) => a - b);
  await Promise.allSettled([...background]);
  return {
    isolates,
    viaRelays,
    relays: viaRelays ? shards : 0,
    cacheTtlMs: cacheTtlMs(env),
    requestsPerSecond: Math.round(servedPerSecond),
    measuredSeconds: Math.round(measuredSeconds * 10) / 10,
    coordinator: {
      stateReadsPerSecond: Math.round(((after.stateReads - before.stateReads) / measuredSeconds) * 10) / 10,
      metricBatchesPerSecond: Math.round(((after.metricBatches - before.metricBatches) / measuredSeconds) * 10) / 10,
      callsPerSecond: Math.round(((after.stateReads - before.stateReads + after.metricBatches - before.metricBatches) / measuredSeconds) * 10) / 10,
    },
    rollback: {
      reached: delays.length,
      of: isolates,
      p50Ms: delays[Math.floor(delays.length / 2)] ?? null,
      maxMs: delays.at(-1) ?? null,
    },
  };
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/health") return new Response("ok");
    if (url.pathname !== "/run") return new Response("not found", { status: 404 });
    const n = (name: string, fallback: number) => Number(url.searchParams.get(name) ?? fallback);
    try {
      const result = await run(env, n("isolates", 10), url.searchParams.get("relays") !== "0", n("seconds", 10), n("rate", 20));
      return Response.json(result);
    } catch (e) {
      return Response.json({ error: String(e instanceof Error ? e.stack : e) }, { status: 500 });
    }
  },
};
