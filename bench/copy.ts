// npm run bench — copy throughput of a `full` job under `wrangler dev` against a plain Node baseline
// measured in the same run, on a fixed corpus served from 127.0.0.1; plus a 100,000-item job planned
// and dispatched. Writes bench/results/latest.json and latest.md.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportCsv, toCsv } from "../test/legacy-origin/corpus.ts";
import { startLegacyOrigin } from "../test/legacy-origin/server.ts";
import { startWranglerDev, type DevWorker } from "../scripts/wrangler-dev.ts";
import { copyMeasure, nodeBaseline, type CopyMeasure } from "./baseline.ts";
import { COPY_BENCH, generateBenchCorpus } from "./corpus.ts";
import { api, BENCH_TOKEN as TOKEN, ended, jobSeconds, putExport, round, waitFor, workerdCpuSeconds, workerdPeakMiB } from "./dev-worker.ts";
import { platformFloor } from "./floor.ts";
import { connectInspector, isolateCpuMs } from "./inspector.ts";
import { writeCopyResult } from "./results.ts";

const CONCURRENCY = 32;
const PORT = 8793;
const INSPECTOR_PORT = 9235;
const BIG_JOB_ITEMS = Number(process.env.BENCH_BIG_ITEMS ?? 100_000);
const BIG_JOB_DISPATCH_SECONDS = 20;
/**
 * Floor and engine measured back to back this many times in all, in alternating order: the machine's
 * speed drifts between minutes, a pair's ratio much less, and the median of several less again.
 */
const FLOOR_PAIRS = Math.max(1, Number(process.env.BENCH_FLOOR_PAIRS ?? 5));
const SETTINGS = { maxInFlight: 1_000, batchSize: 10, consumerConcurrency: CONCURRENCY, ratePerSecond: 10_000 };

/** A measure as the report shows it: rounded. */
function rounded(m: CopyMeasure): CopyMeasure {
  return { ...m, seconds: round(m.seconds, 3), filesPerSecond: round(m.filesPerSecond), mibPerSecond: round(m.mibPerSecond) };
}

async function main() {
  const diskRoot = mkdtempSync(join(tmpdir(), "bench-media-"));
  let worker: DevWorker | null = null;
  const origin = await (async () => {
    const t = performance.now();
    const corpus = generateBenchCorpus(diskRoot);
    console.log(`corpus: ${corpus.files.length} files, ${round(corpus.files.reduce((n, f) => n + f.size, 0) / 1024 / 1024, 1)} MiB, generated in ${round((performance.now() - t) / 1000, 1)} s`);
    return { corpus, server: await startLegacyOrigin(corpus, diskRoot) };
  })();
  const { corpus, server } = origin;
  const totalBytes = corpus.files.reduce((n, f) => n + f.size, 0);
  try {
    const baselineRuns = [await nodeBaseline(server.url, corpus.files, CONCURRENCY)];
    console.log(`baseline: ${round(baselineRuns[0]!.seconds, 2)} s`);

    const floor = await platformFloor(PORT, server.url, corpus.files, CONCURRENCY);
    console.log(`floor: fetch only ${round(floor.fetchOnly.seconds, 2)} s, fetch → R2 ${round(floor.fetchToR2.seconds, 2)} s`);

    /** A Worker of its own (fresh D1 and R2) with the corpus's export uploaded. */
    const engineWorker = async (inspectorPort?: number) => {
      const started = await startWranglerDev(PORT, { LEGACY_ORIGIN: server.url, ADMIN_TOKEN: TOKEN, JWT_SECRET: "bench", LEGACY_JWT_SECRET: "bench-legacy" }, { inspectorPort, localTracing: false });
      await putExport(started, "bench", "users", exportCsv(corpus, "users"));
      await putExport(started, "bench", "files", exportCsv(corpus, "files"));
      return started;
    };
    worker = await engineWorker(INSPECTOR_PORT);

    const cpuBefore = workerdCpuSeconds(worker);
    const inspector = await connectInspector(INSPECTOR_PORT);
    let job: any;
    let id = "";
    // The engine's own CPU: its isolate's, apart from the local simulators that share workerd's thread.
    const engineCpuMs = await isolateCpuMs(inspector, async () => {
      id = (await api(worker!, "/admin/jobs", { method: "POST", body: JSON.stringify({ kind: "full", exportSet: "bench", settings: SETTINGS }) })).id;
      job = await waitFor(worker!, id, ended, 600_000);
    });
    inspector.close();
    const seconds = jobSeconds(job);
    const cpuSeconds = workerdCpuSeconds(worker) - cpuBefore;
    if (job.state !== "completed") throw new Error(`the full job ended ${job.state}: ${JSON.stringify(job.items)}`);

    // Every file checked outside the engine: D1's checksum and size against the corpus manifest.
    const rows = JSON.parse(
      execFileSync("npx", ["wrangler", "d1", "execute", "DB", "--local", "--persist-to", worker.state, "--json", "--command", "SELECT id, size, checksum FROM files"], { encoding: "utf8", env: { ...process.env, CI: "true" }, maxBuffer: 64 * 1024 * 1024 }),
    )[0].results as { id: string; size: number; checksum: string }[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    const verified = corpus.files.filter((f) => byId.get(f.fileId)?.checksum === f.sha256 && byId.get(f.fileId)?.size === f.size).length;
    const engine = rounded(copyMeasure(corpus.files.length, totalBytes, seconds, verified));
    console.log(`engine: ${engine.seconds} s, ${verified}/${corpus.files.length} verified against the manifest`);

    const verifyJob = await waitFor(worker, (await api(worker, "/admin/jobs", { method: "POST", body: JSON.stringify({ kind: "verify", settings: SETTINGS }) })).id, ended, 600_000);
    const verifyRun = rounded(copyMeasure(verifyJob.items.done, verifyJob.bytes.done, jobSeconds(verifyJob), verifyJob.items.done));
    if (verifyJob.state !== "completed") throw new Error(`the verify job ended ${verifyJob.state}`);
    const copyPeakMiB = workerdPeakMiB(worker);

    await worker.stop();
    worker = null;

    // Pairs in fresh Workers, the engine first in every other one: the ratio is their median. The run
    // above is not one of them (its engine was profiled, and its floor ran right after fetch-only).
    const pairs: { floorSeconds: number; engineSeconds: number }[] = [];
    const floorSeconds = async () => (await platformFloor(PORT, server.url, corpus.files, CONCURRENCY, "fetchToR2")).fetchToR2.seconds;
    const engineSeconds = async () => {
      worker = await engineWorker();
      const { id: pairId } = await api(worker, "/admin/jobs", { method: "POST", body: JSON.stringify({ kind: "full", exportSet: "bench", settings: SETTINGS }) });
      const pairJob = await waitFor(worker, pairId, ended, 600_000);
      if (pairJob.state !== "completed") throw new Error(`a floor pair's full job ended ${pairJob.state}`);
      await worker.stop();
      worker = null;
      return jobSeconds(pairJob);
    };
    while (pairs.length < FLOOR_PAIRS) {
      const engineFirst = pairs.length % 2 === 1;
      const first = engineFirst ? await engineSeconds() : await floorSeconds();
      const second = engineFirst ? await floorSeconds() : await engineSeconds();
      pairs.push(engineFirst ? { floorSeconds: second, engineSeconds: first } : { floorSeconds: first, engineSeconds: second });
      console.log(`pair ${pairs.length}: floor ${round(pairs.at(-1)!.floorSeconds, 2)} s, engine ${round(pairs.at(-1)!.engineSeconds, 2)} s`);
    }
    const pairRatios = pairs.map((p) => round(p.floorSeconds / p.engineSeconds));

    // A 100,000-item job, in a Worker of its own: planned in full, dispatched for a while, cancelled.
    worker = await startWranglerDev(PORT, { LEGACY_ORIGIN: server.url, ADMIN_TOKEN: TOKEN, JWT_SECRET: "bench", LEGACY_JWT_SECRET: "bench-legacy" }, { localTracing: false });
    const fileRows = Array.from({ length: BIG_JOB_ITEMS }, (_, i) => [i + 1, (i % corpus.users.length) + 1, `00000000-0000-4000-b000-${String(i + 1).padStart(12, "0")}`, `s${i + 1}.csv`, `/app/media/synthetic/s${i + 1}.csv`, "2024-01-01 00:00:00+00", "{}", "{}", "{}"]);
    await putExport(worker, "big", "users", exportCsv(corpus, "users"));
    await putExport(worker, "big", "files", toCsv(["id", "user_id", "file_id", "file_name", "file_path", "uploaded_at", "system_tags", "user_tags", "metadata"], fileRows));
    const big = await api(worker, "/admin/jobs", { method: "POST", body: JSON.stringify({ kind: "full", exportSet: "big", settings: SETTINGS }) });
    const planned = await waitFor(worker, big.id, (j) => j.state !== "planning", 600_000);
    const planSeconds = planned.steps.planningMs / 1000;
    await new Promise((r) => setTimeout(r, BIG_JOB_DISPATCH_SECONDS * 1000));
    const dispatched = await api(worker, `/admin/jobs/${big.id}`);
    await api(worker, `/admin/jobs/${big.id}/cancel`, { method: "POST", body: "{}" });
    const bigPeakMiB = workerdPeakMiB(worker);

    await worker.stop();
    worker = null;
    baselineRuns.push(await nodeBaseline(server.url, corpus.files, CONCURRENCY));
    const baseline = baselineRuns.reduce((best, run) => (run.seconds < best.seconds ? run : best));
    const baselineView = rounded(baseline);

    const report = {
      benchmark: "copy",
      date: new Date().toISOString(),
      corpus: { files: corpus.files.length, mib: round(totalBytes / 1024 / 1024, 1), spec: COPY_BENCH },
      concurrency: CONCURRENCY,
      engineSettings: SETTINGS,
      baseline: { ...baselineView, runs: baselineRuns.map((r) => round(r.seconds, 3)), note: "plain Node fetch → SHA-256 → disk, best of a run before and one after the engine" },
      engine: {
        ...engine,
        planningMs: job.steps.planningMs,
        alarmSteps: job.steps.count,
        maxAlarmStepMs: job.steps.maxMs,
        workerdPeakMiB: copyPeakMiB,
        workerdCpuSeconds: round(cpuSeconds),
        workerdCoresBusy: round(cpuSeconds / seconds),
        engineIsolateCpuMsPerFile: round(engineCpuMs / corpus.files.length, 3),
      },
      ratios: { filesPerSecond: round(engine.filesPerSecond / baselineView.filesPerSecond), mibPerSecond: round(engine.mibPerSecond / baselineView.mibPerSecond) },
      platformFloor: {
        note: "a bare Worker under the same wrangler dev, same concurrency: fetch only, then fetch → R2 put (no hashing, D1, queue or coordinator)",
        fetchOnly: rounded(floor.fetchOnly),
        fetchToR2: rounded(floor.fetchToR2),
        fetchToR2VsBaseline: round(baselineView.seconds / floor.fetchToR2.seconds),
        engineVsFetchToR2: median(pairRatios),
        pairs: pairs.map((p, i) => ({ floorSeconds: round(p.floorSeconds, 3), engineSeconds: round(p.engineSeconds, 3), ratio: pairRatios[i] })),
        target: "engine ≥ 0.8× the floor (median of the back-to-back pairs)",
      },
      verifyJob: verifyRun,
      hundredThousandItems: {
        items: BIG_JOB_ITEMS,
        planSeconds: round(planSeconds, 2),
        planningMs: planned.steps.planningMs,
        dispatchSeconds: BIG_JOB_DISPATCH_SECONDS,
        stateWhileDispatching: dispatched.state,
        itemsWhileDispatching: dispatched.items,
        itemsDoneWhileDispatching: dispatched.items.done,
        itemsPerSecond: round(dispatched.items.done / BIG_JOB_DISPATCH_SECONDS),
        alarmSteps: dispatched.steps.count,
        maxAlarmStepMs: dispatched.steps.maxMs,
        workerdPeakMiB: bigPeakMiB,
      },
      target: "engine ≥ 0.5× the baseline's files/s and MiB/s, every file verified",
    };
    const h = report.hundredThousandItems;
    const f = report.platformFloor;
    const limits = `## What limits it (measured in this run)

- The platform: a bare Worker under the same \`wrangler dev\` that only fetches each file and puts it in local R2 (no hashing,
  no D1, no queue, no coordinator) takes ${f.fetchToR2.seconds} s, **${f.fetchToR2VsBaseline}× the baseline** on its own; fetching alone takes ${f.fetchOnly.seconds} s.
  The engine, doing all of its work on top, runs at **${f.engineVsFetchToR2}× that floor's speed** (target ≥ 0.8×; the median of ${f.pairs.length} more floor and engine runs back to back, in alternating order, each in fresh Workers and none profiled (floor / engine): ${f.pairs.map((p) => `${p.floorSeconds} s / ${p.engineSeconds} s = ${p.ratio}×`).join(", ")}). ${
    f.fetchToR2VsBaseline < 0.5
      ? "Since the floor itself is under 0.5× the baseline, no engine whose copies go through the local R2 simulator reaches 0.5× in this run."
      : "The floor itself reaches 0.5× the baseline in this run, so the engine's own work is what keeps it below."
  }
- One thread: workerd used ${report.engine.workerdCpuSeconds} CPU seconds in the ${engine.seconds} s of the full job (${report.engine.workerdCoresBusy} cores busy).
  Under \`wrangler dev\` the Worker, the coordinator, the queue broker and the R2 and D1 simulators all run on workerd's one
  thread, so the engine is CPU-bound on one core while this machine's second core is left to the origin: per file that is
  ${round((report.engine.workerdCpuSeconds * 1000) / engine.files, 2)} ms of CPU (fetch, hashing and row counting, an R2 put, its share of a D1 batch and of a coordinator report).
  Of that, the engine's own isolate (the Worker, its consumer and its coordinator, profiled through the V8 inspector)
  used ${report.engine.engineIsolateCpuMsPerFile} ms per file; the rest is the local R2, D1 and queue simulators and workerd's I/O.
- Local R2 reads alone: the \`verify\` job, which only reads each object back from R2 and hashes it, reaches ${verifyRun.mibPerSecond} MiB/s
  (${round(verifyRun.mibPerSecond / baselineView.mibPerSecond)}× the baseline's MiB/s). Copying also writes every byte to local R2 (SQLite index + blob files) and reads it from the origin.
- Per-item overhead: on tiny files (the 100,000-item job) the engine completes ${h.itemsPerSecond} items/s (${round(h.itemsPerSecond / baselineView.filesPerSecond)}× the baseline's files/s):
  each item costs a fetch, an R2 put, a D1 upsert and its share of a coordinator report.
- Coordinator: the longest alarm step took ${job.steps.maxMs} ms (full job) and ${h.maxAlarmStepMs} ms (100,000 items, planning ${h.planSeconds} s in all).
`;
    const md = `# Copy benchmark (${report.date})

\`npm run bench\`: ${report.corpus.files} CSVs (${COPY_BENCH.small} of 10–30 KiB, ${COPY_BENCH.large} of 20 MiB; ${report.corpus.mib} MiB) served by a static Node server on 127.0.0.1.

| run | seconds | files/s | MiB/s | verified |
|---|---|---|---|---|
| baseline: Node fetch → SHA-256 → disk, ${CONCURRENCY} in flight | ${baselineView.seconds} | ${baselineView.filesPerSecond} | ${baselineView.mibPerSecond} | ${baselineView.verified}/${baselineView.files} |
| floor: bare Worker, fetch only | ${f.fetchOnly.seconds} | ${f.fetchOnly.filesPerSecond} | ${f.fetchOnly.mibPerSecond} | ${f.fetchOnly.verified}/${f.fetchOnly.files} (sizes) |
| floor: bare Worker, fetch → local R2 put | ${f.fetchToR2.seconds} | ${f.fetchToR2.filesPerSecond} | ${f.fetchToR2.mibPerSecond} | ${f.fetchToR2.verified}/${f.fetchToR2.files} (sizes) |
| engine: \`full\` job under \`wrangler dev\` (R2 + D1 + SHA-256 + CSV shape) | ${engine.seconds} | ${engine.filesPerSecond} | ${engine.mibPerSecond} | ${engine.verified}/${engine.files} |
| engine: \`verify\` job (re-read every object from R2) | ${verifyRun.seconds} | ${verifyRun.filesPerSecond} | ${verifyRun.mibPerSecond} | ${verifyRun.verified} |

Engine / baseline: **${report.ratios.filesPerSecond}× files/s, ${report.ratios.mibPerSecond}× MiB/s** (target ≥ 0.5×).
Full job: planning ${job.steps.planningMs} ms, ${job.steps.count} alarm steps, the longest ${job.steps.maxMs} ms; workerd peak RSS ${copyPeakMiB} MiB, ${report.engine.workerdCpuSeconds} CPU s (${report.engine.workerdCoresBusy} cores busy).

${BIG_JOB_ITEMS.toLocaleString("en")}-item job (tiny files, its own Worker): planned in ${h.planSeconds} s; in ${h.dispatchSeconds} s of dispatching, ${h.itemsDoneWhileDispatching} items copied (${h.itemsPerSecond}/s); ${h.alarmSteps} alarm steps, the longest ${h.maxAlarmStepMs} ms; workerd peak RSS ${h.workerdPeakMiB} MiB.

${limits}`;
    writeCopyResult(report, md);
    console.log(md);
  } finally {
    await worker?.stop();
    await server.close();
    rmSync(diskRoot, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : round((sorted[mid - 1]! + sorted[mid]!) / 2);
}
