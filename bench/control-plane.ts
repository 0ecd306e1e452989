// The control-plane part of `npm run bench` (also alone: npm run bench:control-plane): N simulated
// gate isolates (10, 100, 1,000; each with its own state cache and metrics buffer, 20 requests a
// second each) under `wrangler dev`, first straight to the coordinator, then through the relays:
// the coordinator's calls per second and how long a rollback takes to reach every isolate.
// Adds `controlPlane` to bench/results/latest.json and its section to latest.md (results.ts).
import { startWranglerDev } from "../scripts/wrangler-dev.ts";
import { runWhenMain } from "./results.ts";

const PORT = 8779;
const ISOLATES = (process.env.BENCH_ISOLATES ?? "10,100,1000").split(",").map(Number);
const SECONDS = Number(process.env.BENCH_CONTROL_SECONDS ?? 10);
const RATE = 20;
const MARK = "<!-- control-plane -->";

export interface ControlPlaneRun {
  isolates: number;
  viaRelays: boolean;
  relays: number;
  cacheTtlMs: number;
  requestsPerSecond: number;
  measuredSeconds: number;
  coordinator: { stateReadsPerSecond: number; metricBatchesPerSecond: number; callsPerSecond: number };
  rollback: { reached: number; of: number; p50Ms: number | null; maxMs: number | null };
}

export async function controlPlaneBench(): Promise<{ runs: ControlPlaneRun[]; secondsPerRun: number; ratePerIsolate: number }> {
  const runs: ControlPlaneRun[] = [];
  for (const isolates of ISOLATES) {
    for (const viaRelays of [false, true]) {
      // A fresh Worker per run: no state, no relay or cache warmed by the run before.
      const worker = await startWranglerDev(PORT, {}, { config: "bench/control-plane/wrangler.toml", migrate: true, localTracing: false });
      try {
        const res = await fetch(`${worker.url}/run?isolates=${isolates}&relays=${viaRelays ? 1 : 0}&seconds=${SECONDS}&rate=${RATE}`);
        const body = (await res.json()) as ControlPlaneRun | { error: string };
        if ("error" in body) throw new Error(body.error);
        console.log(JSON.stringify(body));
        runs.push(body);
      } finally {
        await worker.stop();
      }
    }
  }
  return { runs, secondsPerRun: SECONDS, ratePerIsolate: RATE };
}

export function controlPlaneMarkdown({ runs, secondsPerRun, ratePerIsolate }: Awaited<ReturnType<typeof controlPlaneBench>>): string {
  const rows = runs.map(
    (r) =>
      `| ${r.isolates} | ${r.viaRelays ? `${r.relays} relays` : "coordinator"} | ${r.requestsPerSecond} | ${r.coordinator.stateReadsPerSecond} | ${r.coordinator.metricBatchesPerSecond} | **${r.coordinator.callsPerSecond}** | ${r.rollback.reached}/${r.rollback.of} | ${r.rollback.p50Ms ?? "—"} | ${r.rollback.maxMs ?? "—"} |`,
  );
  return `${MARK}
## Control plane: coordinator calls and rollback propagation per number of isolates

N simulated gate isolates, each with the gate's own state cache (TTL ${runs[0]?.cacheTtlMs ?? "?"} ms) and metrics buffer and ${ratePerIsolate} requests a second, for ${secondsPerRun} s after a 3 s warm-up, reading and flushing through the project's control-plane client (\`src/relay/control-plane.ts\`), in one \`wrangler dev\` (bench/control-plane/). Then a rollback: the time until each isolate serves under it.

| isolates | gates talk to | requests/s | coordinator state reads/s | metric batches/s | coordinator calls/s | isolates that saw the rollback | p50 ms | max ms |
|---|---|---|---|---|---|---|---|---|
${rows.join("\n")}
`;
}

runWhenMain(import.meta.url, { key: "controlPlane", mark: MARK, run: controlPlaneBench, markdown: controlPlaneMarkdown });
