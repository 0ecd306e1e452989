// The coordinator's capacity, measured alone (part of `npm run bench`, also `npm run bench:coordinator`):
// a full job of BENCH_LEDGER_ITEMS items (default 1,000,000; 100,000 when CI is set) under
// `wrangler dev` with a null copy consumer (bench/coordinator/worker.ts) that reports each item done
// at once. Items per second through plan → lease → dispatch → report, workerd CPU per item, the
// coordinator's SQLite bytes per item, the alarm step-time distribution, and what a job view costs.
// Adds `coordinator` to bench/results/latest.json and its section to latest.md.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { startWranglerDev, type DevWorker } from "../scripts/wrangler-dev.ts";
import { api, BENCH_TOKEN, round, workerdCpuSeconds, workerdPeakMiB } from "./dev-worker.ts";
import { connectInspector, isolateCpuMs } from "./inspector.ts";
import { runWhenMain } from "./results.ts";

const PORT = 8778;
const INSPECTOR_PORT = 9236;
const ITEMS = Number(process.env.BENCH_LEDGER_ITEMS ?? (process.env.CI ? 100_000 : 1_000_000));
const USERS = 100;
const SETTINGS = { maxInFlight: 2_000, batchSize: 50, ratePerSecond: 10_000, leaseSeconds: 600 };
const MARK = "<!-- coordinator -->";

async function upload(worker: DevWorker, table: string, body: ReadableStream<Uint8Array> | string, length = Buffer.byteLength(body as string)): Promise<void> {
  const headers = { authorization: `Bearer ${BENCH_TOKEN}`, "content-length": String(length) };
  const res = await fetch(`${worker.url}/admin/exports/ledger/${table}`, { method: "PUT", body, headers, duplex: "half" } as RequestInit);
  if (res.status !== 201) throw new Error(`upload ${table}: ${res.status} ${await res.text()}`);
}

const FILES_HEADER = "id,user_id,file_id,file_name,file_path,uploaded_at,system_tags,user_tags,metadata\n";
const fileRow = (i: number) => `${i + 1},${(i % USERS) + 1},00000000-0000-4000-b000-${String(i + 1).padStart(12, "0")},s${i + 1}.csv,/app/media/ledger/s${i + 1}.csv,2024-01-01 00:00:00+00,{},{},{}\n`;

/** The files table, generated as it is sent (a million rows never sit whole in memory), and its length in bytes. */
function filesCsv(items: number): { body: ReadableStream<Uint8Array>; length: number } {
  let length = FILES_HEADER.length;
  for (let i = 0; i < items; i++) length += fileRow(i).length;
  const encoder = new TextEncoder();
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const rows: string[] = next === 0 ? [FILES_HEADER] : [];
      for (const end = Math.min(items, next + 5_000); next < end; next++) rows.push(fileRow(next));
      controller.enqueue(encoder.encode(rows.join("")));
      if (next >= items) controller.close();
    },
  });
  return { body, length };
}

function usersCsv(): string {
  const rows = Array.from({ length: USERS }, (_, i) => `${i + 1},ledger${i + 1},ledger${i + 1}@example.com,pbkdf2_sha256$600000$salt$aGFzaA==,,,2024-01-01 00:00:00+00,,t,f,f`);
  return `id,username,email,password,first_name,last_name,date_joined,last_login,is_active,is_staff,is_superuser\n${rows.join("\n")}\n`;
}

/** Bytes of the coordinator's SQLite files in the dev worker's local state. */
function coordinatorStorageBytes(worker: DevWorker): number {
  let total = 0;
  const walk = (dir: string, inCoordinator: boolean) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, inCoordinator || entry.name.includes("MigrationCoordinator"));
      else if (inCoordinator && /\.sqlite(-wal)?$/.test(entry.name)) total += statSync(path).size;
    }
  };
  walk(worker.state, false);
  return total;
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t = performance.now();
  const value = await f();
  return { value, ms: round(performance.now() - t, 1) };
}

export async function coordinatorBench() {
  const worker = await startWranglerDev(PORT, { ADMIN_TOKEN: BENCH_TOKEN, JWT_SECRET: "bench" }, { config: "bench/coordinator/wrangler.toml", migrate: true, timeoutMs: 120_000, localTracing: false, inspectorPort: INSPECTOR_PORT });
  try {
    await upload(worker, "users", usersCsv());
    const files = filesCsv(ITEMS);
    await upload(worker, "files", files.body, files.length);
    const cpuBefore = workerdCpuSeconds(worker);
    // The Worker's own isolate (the coordinator, and the null consumer beside it), apart from the simulators.
    const inspector = await connectInspector(INSPECTOR_PORT);
    const created = await api(worker, "/admin/jobs", { method: "POST", body: JSON.stringify({ kind: "full", exportSet: "ledger", settings: SETTINGS }) });
    const started = Date.now();
    const emptyView = await timed(() => api(worker, `/admin/jobs/${created.id}`));
    let job = emptyView.value;
    let plannedAt: number | null = null;
    let storageAfterPlanning = 0;
    const progress: { t: number; done: number }[] = [];
    const isolateMs = await isolateCpuMs(inspector, async () => {
      while (job.state === "planning" || job.state === "copying") {
        await new Promise((r) => setTimeout(r, 500));
        job = await api(worker, `/admin/jobs/${created.id}`);
        if (plannedAt === null && job.state !== "planning") {
          plannedAt = Date.now();
          storageAfterPlanning = coordinatorStorageBytes(worker);
        }
        progress.push({ t: Date.now() - started, done: job.items.done });
        if (Date.now() - started > 3_600_000) throw new Error(`the job did not finish copying within an hour: ${JSON.stringify(job.items)}`);
      }
    });
    inspector.close();
    const copiedAt = Date.now();
    // The null consumer writes no D1 row, so verifying (already under way) fails items as d1_mismatch: they were reported done.
    if (job.state === "failed" || job.state === "cancelled") throw new Error(`the job ended ${job.state}: ${job.error}`);
    const cpuSeconds = workerdCpuSeconds(worker) - cpuBefore;
    const fullView = await timed(() => api(worker, `/admin/jobs/${created.id}`));
    const deepFailures = await timed(() => api(worker, `/admin/jobs/${created.id}/failures?limit=100&offset=0`));
    const storage = coordinatorStorageBytes(worker);
    await api(worker, `/admin/jobs/${created.id}/cancel`, { method: "POST", body: "{}" }).catch(() => undefined);
    const planSeconds = job.steps.planningMs / 1000;
    // Every item reached done through a report; the verify phase may already have failed some (d1_mismatch) in the same view.
    const reported = job.items.done + job.items.failed;
    const dispatchSeconds = (copiedAt - (plannedAt ?? started)) / 1000;
    const totalSeconds = (copiedAt - started) / 1000;
    return {
      planned: ITEMS,
      settings: SETTINGS,
      reported,
      planSeconds: round(planSeconds, 2),
      planItemsPerSecond: Math.round(ITEMS / planSeconds),
      dispatchSeconds: round(dispatchSeconds, 1),
      dispatchItemsPerSecond: Math.round(reported / dispatchSeconds),
      itemsPerSecond: Math.round(reported / totalSeconds),
      cpuMsPerItem: round((cpuSeconds * 1000) / ITEMS, 3),
      isolateCpuMsPerItem: round(isolateMs / ITEMS, 4),
      isolateItemsPerCpuSecond: Math.round(ITEMS / (isolateMs / 1000)),
      workerdCpuSeconds: round(cpuSeconds, 1),
      storageBytesPerItem: Math.round(storage / ITEMS),
      storageBytesPerItemAfterPlanning: Math.round(storageAfterPlanning / ITEMS),
      steps: job.steps,
      jobViewMs: { empty: emptyView.ms, full: fullView.ms },
      failuresPageMs: deepFailures.ms,
      items: job.items,
      failedByReason: deepFailures.value.byReason,
      workerdPeakMiB: workerdPeakMiB(worker),
      progress: progress.filter((_, i) => i % 10 === 0),
    };
  } finally {
    await worker.stop();
  }
}

export function coordinatorMarkdown(r: Awaited<ReturnType<typeof coordinatorBench>>): string {
  const at = r.steps.atMostMs as Record<string, number>;
  const share = (bound: string) => `${round((100 * (at[bound] ?? 0)) / Math.max(1, r.steps.count), 1)} %`;
  return `${MARK}
## The coordinator alone: a ${r.planned.toLocaleString("en")}-item job with a null consumer

\`npm run bench:coordinator\` (bench/coordinator/): the project's Worker under \`wrangler dev\` with a copy consumer that reports each item done at once (no fetch, no R2, no D1 row), settings ${JSON.stringify(r.settings)}.

| measure | value |
|---|---|
| items reported done | ${r.reported.toLocaleString("en")} of ${r.planned.toLocaleString("en")} (then failed by the verify phase, which finds no D1 rows: ${r.failedByReason.d1_mismatch ?? 0}; other failures: ${JSON.stringify(Object.fromEntries(Object.entries(r.failedByReason).filter(([k]) => k !== "d1_mismatch")))}) |
| planning | ${r.planSeconds} s (${r.planItemsPerSecond.toLocaleString("en")} items/s) |
| lease → dispatch → report | ${r.dispatchSeconds} s (**${r.dispatchItemsPerSecond.toLocaleString("en")} items/s**) |
| whole job, plan to last report | **${r.itemsPerSecond.toLocaleString("en")} items/s** (target ≥ 10,000) |
| workerd CPU per item (coordinator, queue, consumer, D1 and R2 simulators) | ${r.cpuMsPerItem} ms |
| the Worker's own isolate (coordinator and null consumer, V8 profile) | ${r.isolateCpuMsPerItem} ms per item: **${r.isolateItemsPerCpuSecond.toLocaleString("en")} items per CPU second** |
| coordinator SQLite per item | ${r.storageBytesPerItem} B (${r.storageBytesPerItemAfterPlanning} B right after planning) |
| alarm steps | ${r.steps.count}; ≤ 10 ms ${share("10")}, ≤ 25 ms ${share("25")}, ≤ 50 ms ${share("50")}, ≤ 100 ms ${share("100")}, ≤ 250 ms ${share("250")}; longest ${r.steps.maxMs} ms |
${Object.entries(r.steps.byState as Record<string, { maxMs: number; atMostMs: Record<string, number> }>)
  .map(([state, { maxMs, atMostMs }]) => `| steps while ${state} | ${atMostMs["+Inf"]}; ≤ 50 ms ${round((100 * (atMostMs["50"] ?? 0)) / Math.max(1, atMostMs["+Inf"] ?? 0), 1)} %; longest ${maxMs} ms |`)
  .join("\n")}
| GET /admin/jobs/:id | ${r.jobViewMs.empty} ms empty, ${r.jobViewMs.full} ms at ${r.planned.toLocaleString("en")} items |
| first failures page | ${r.failuresPageMs} ms |
| workerd peak RSS | ${r.workerdPeakMiB} MiB |
`;
}

runWhenMain(import.meta.url, { key: "coordinator", mark: MARK, run: coordinatorBench, markdown: coordinatorMarkdown });
