// The Worker's own JS heap (part of `npm run bench`, also `npm run bench:memory`), read through its V8
// inspector (bench/heap.ts), not the workerd process's RSS, which also holds the local R2 and D1
// simulators: the peak during a 50 MiB upload, a 50 MiB export of that file, and a copy job with 64
// files in flight, 8 of them 20 MiB, once with known lengths and once as bodies of unknown length
// (copied in 8 MiB multipart parts).
// Adds `memory` to bench/results/latest.json and its section to latest.md.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportCsv as exportTable } from "../test/legacy-origin/corpus.ts";
import { startLegacyOrigin } from "../test/legacy-origin/server.ts";
import { startWranglerDev, type DevWorker } from "../scripts/wrangler-dev.ts";
import type { Corpus } from "../test/legacy-origin/corpus.ts";
import { generateBenchCorpus } from "./corpus.ts";
import { api, BENCH_TOKEN, putExport, waitFor, ended } from "./dev-worker.ts";
import { EXPOSE_GC_ENV, heapSampler, type HeapPhase, type HeapSampler } from "./heap.ts";
import { runWhenMain } from "./results.ts";

const PORT = 8776;
const INSPECTOR_PORT = 9232;
const MiB = 1024 * 1024;
const UPLOAD_BYTES = 50 * MiB - 64 * 1024;
const TARGET_MIB = 32;
const MARK = "<!-- memory -->";
const COPY_SETTINGS = { maxInFlight: 64, batchSize: 16, consumerConcurrency: 64, ratePerSecond: 10_000 };

/** A CSV of exactly `bytes` bytes, as a Blob built from one repeated block (Node holds it; the Worker must not). */
function bigCsv(bytes: number): Blob {
  const header = "id,name,city,amount\n";
  const rows = Array.from({ length: 1_000 }, (_, i) => `${i},Person ${i},City ${i % 97},${(i * 17) % 1000}\n`).join("");
  const parts: string[] = [header];
  let size = header.length;
  while (size + rows.length <= bytes) {
    parts.push(rows);
    size += rows.length;
  }
  parts.push("9,pad,,".padEnd(bytes - size - 1, "x") + "\n");
  return new Blob(parts);
}

/** A Worker of its own with its heap sampler, for one part of the bench (so that each starts from a fresh heap). */
async function withWorker<T>(legacyOrigin: string, run: (worker: DevWorker, heap: HeapSampler) => Promise<T>): Promise<T> {
  Object.assign(process.env, EXPOSE_GC_ENV);
  const worker = await startWranglerDev(PORT, { LEGACY_ORIGIN: legacyOrigin, ADMIN_TOKEN: BENCH_TOKEN, JWT_SECRET: "bench" }, { inspectorPort: INSPECTOR_PORT, localTracing: false });
  try {
    const heap = await heapSampler(INSPECTOR_PORT);
    try {
      return await run(worker, heap);
    } finally {
      heap.close();
    }
  } finally {
    await worker.stop();
  }
}

async function uploadAndExport(worker: DevWorker, heap: HeapSampler) {
  // The new app serves everyone.
  await api(worker, "/admin/cutover", { method: "PATCH", body: JSON.stringify({ percent: 100 }) });
  await new Promise((r) => setTimeout(r, 2_500));
  const json = { "content-type": "application/json" };
  const password = "tangerine-orbit-4417-quasar";
  const registered = await fetch(`${worker.url}/api/accounts/register/`, { method: "POST", headers: json, body: JSON.stringify({ username: "memory", email: "memory@example.com", password, password2: password }) });
  if (registered.status !== 201) throw new Error(`register: ${registered.status} ${await registered.text()}`);
  const { access } = (await (await fetch(`${worker.url}/api/accounts/login/`, { method: "POST", headers: json, body: JSON.stringify({ username: "memory", password }) })).json()) as { access: string };
  const auth = { authorization: `Bearer ${access}` };

  const form = new FormData();
  form.append("file", bigCsv(UPLOAD_BYTES), "big.csv");
  const uploadPhase = await heap.phase();
  const uploaded = await fetch(`${worker.url}/api/list_cutter/upload/`, { method: "POST", headers: auth, body: form });
  const upload = await uploadPhase.end();
  if (uploaded.status !== 200 && uploaded.status !== 201) throw new Error(`upload: ${uploaded.status} ${await uploaded.text()}`);
  const { file_id } = (await uploaded.json()) as { file_id: string };
  const files = (await (await fetch(`${worker.url}/api/list_cutter/list_saved_files/`, { headers: auth })).json()) as { files: { file_id: string; file_path: string }[] };
  const filePath = files.files.find((f) => f.file_id === file_id)!.file_path;

  const exportPhase = await heap.phase();
  const exported = await fetch(`${worker.url}/api/list_cutter/export_csv/`, { method: "POST", headers: { ...auth, ...json }, body: JSON.stringify({ columns: ["id", "name", "city", "amount"], file_path: filePath }) });
  let exportedBytes = 0;
  const reader = exported.body!.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) exportedBytes += chunk.value.byteLength;
  const exportResult = await exportPhase.end();
  if (exported.status !== 200) throw new Error(`export: ${exported.status}`);
  return { upload: { bytes: UPLOAD_BYTES, status: uploaded.status, ...upload }, export: { bytes: exportedBytes, ...exportResult } };
}

async function copyJob(worker: DevWorker, heap: HeapSampler, corpus: Corpus, originUrl: string, chunked: boolean) {
  for (const table of ["users", "files"] as const) await putExport(worker, "memory", table, exportTable(corpus, table));
  const large = corpus.files.filter((f) => f.size >= 20 * MiB);
  await fetch(`${originUrl}/__faults`, { method: chunked ? "PUT" : "DELETE", body: chunked ? JSON.stringify(large.map((f) => ({ match: f.relativePath, kind: "chunked" }))) : undefined });
  await fetch(`${originUrl}/__stats`, { method: "DELETE" });
  const copyPhase = await heap.phase();
  const created = await api(worker, "/admin/jobs", { method: "POST", body: JSON.stringify({ kind: "full", exportSet: "memory", settings: COPY_SETTINGS }) });
  const job = await waitFor(worker, created.id, ended, 600_000, undefined, 250);
  const copy = await copyPhase.end();
  const stats = (await (await fetch(`${originUrl}/__stats`)).json()) as { maxInFlight: number };
  return { files: corpus.files.length, large: large.length, chunked, settings: COPY_SETTINGS, originMaxInFlight: stats.maxInFlight, state: job.state as string, done: job.items.done as number, ...copy };
}

export async function memoryBench() {
  const dir = mkdtempSync(join(tmpdir(), "bench-memory-"));
  const corpus = generateBenchCorpus(dir, { small: 56, smallMin: 10 * 1024, smallMax: 30 * 1024, large: 8, largeBytes: 20 * MiB, users: 8 });
  const origin = await startLegacyOrigin(corpus, dir);
  try {
    const app = await withWorker(origin.url, uploadAndExport);
    const copy = await withWorker(origin.url, (worker, heap) => copyJob(worker, heap, corpus, origin.url, false));
    const copyChunked = await withWorker(origin.url, (worker, heap) => copyJob(worker, heap, corpus, origin.url, true));
    return {
      note: "memory of the Worker's isolate (the Worker and its Durable Objects: JS heap in use, embedder heap and ArrayBuffer backing stores, i.e. buffered bytes), read from its V8 inspector every 20 ms, and every 250 ms right after a forced full collection (live: what the code holds); the local R2/D1 simulators run elsewhere",
      targetMiB: TARGET_MIB,
      ...app,
      copy,
      copyChunked,
    };
  } finally {
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function memoryMarkdown(r: Awaited<ReturnType<typeof memoryBench>>): string {
  const row = (what: string, p: HeapPhase) => `| ${what} | ${p.beforeMiB} | **${p.livePeakMiB}** | ${p.peakMiB} | ${p.samples} |`;
  return `${MARK}
## The Worker's own memory

\`npm run bench:memory\`: the ${r.note}. Target: a live peak under ${r.targetMiB} MiB in each phase (production gives an isolate 128 MB).

| phase | live before, MiB | live peak, MiB | peak with garbage, MiB | samples |
|---|---|---|---|---|
${row(`upload of a ${round(r.upload.bytes / MiB)} MiB CSV (multipart, new app)`, r.upload)}
${row(`export of that file (all columns, ${round(r.export.bytes / MiB)} MiB out)`, r.export)}
${row(copyTitle(r.copy), r.copy)}
${row(copyTitle(r.copyChunked), r.copyChunked)}
`;
}

const round = (n: number) => Math.round(n * 10) / 10;

function copyTitle(c: Awaited<ReturnType<typeof copyJob>>): string {
  const large = c.chunked ? `${c.large} of them 20 MiB without a Content-Length (8 MiB multipart parts)` : `${c.large} of them 20 MiB (known length)`;
  return `full job: ${c.files} files, ${large}, maxInFlight ${c.settings.maxInFlight} (the origin saw at most ${c.originMaxInFlight} at once); ${c.done} done, ${c.state}`;
}

runWhenMain(import.meta.url, { key: "memory", mark: MARK, run: memoryBench, markdown: memoryMarkdown });
