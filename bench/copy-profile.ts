// npm run bench:copy-profile — where workerd's CPU goes when the bench corpus is copied, once by the
// platform floor (bench/floor: fetch → local R2 put) and once by the engine (a `full` job), each
// sampled with Linux `perf` (V8's --perf-basic-prof names the JavaScript of every isolate: the Worker's
// own bundle and the local R2, D1, queue and trace-collector simulators). The difference per component
// is what the engine adds on top of fetch → R2. Needs `perf` (Debian: linux-perf) and
// kernel.perf_event_paranoid ≤ 2; it is an analysis tool, not part of `npm run bench`.
// Adds `copyProfile` to bench/results/latest.json and its section to latest.md.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { exportCsv } from "../test/legacy-origin/corpus.ts";
import { startLegacyOrigin } from "../test/legacy-origin/server.ts";
import { startWranglerDev, type DevWorker } from "../scripts/wrangler-dev.ts";
import { generateBenchCorpus } from "./corpus.ts";
import { api, BENCH_TOKEN, ended, jobSeconds, putExport, round, waitFor, workerdPids } from "./dev-worker.ts";
import { runWhenMain } from "./results.ts";

const PORT = 8793;
const CONCURRENCY = 32;
const SETTINGS = { maxInFlight: 1_000, batchSize: 10, consumerConcurrency: CONCURRENCY, ratePerSecond: 10_000 };
const HZ = 997;
const MARK = "<!-- copy-profile -->";
const TOP_FUNCTIONS = 12;

/**
 * Components, in the order the table shows them. A sample whose leaf frames, below its innermost
 * JavaScript frame, are SQLite, hashing, garbage collection or the kernel belongs to that (whoever
 * called it); any other sample with a JavaScript frame to the isolate of that frame's script; the rest
 * to the first native component whose test matches its stack.
 */
const COMPONENTS = [
  { name: "the Worker's own JavaScript", script: /^(index|worker)\.js$/ },
  { name: "local R2 simulator (JavaScript)", script: /^bucket\.worker\.js$/ },
  { name: "local D1 simulator (JavaScript)", script: /^database\.worker\.js$/ },
  { name: "local queue broker (JavaScript)", script: /^broker\.worker\.js$/ },
  { name: "wrangler dev's local trace collector (JavaScript)", script: /^collector\.worker\.js$/ },
  { name: "other wrangler dev JavaScript (proxies, shared modules)", script: /./ },
  { name: "SQLite (D1, R2 index, Durable Objects)", native: /sqlite3/ },
  { name: "hashing (SHA-256 of the engine, MD5 of local R2)", native: /md5_block|sha256_block|sha1_block/ },
  { name: "garbage collection", native: /cppgc|Scavenger|MarkCompact|v8::internal::Heap::|ConcurrentMarking|Sweeper/ },
  { name: "kernel (sockets, files)", native: /entry_SYSCALL|do_syscall_64|asm_exc_page_fault|asm_sysvec|asm_common_interrupt/ },
  { name: "workerd's runtime (streams, in-process HTTP between services, promises)", native: /./ },
] as const;

type Breakdown = Record<string, number>;

/** Samples perf took of the workerd processes of `worker` while `run` ran, by component (CPU seconds). */
async function profiled(worker: DevWorker, run: () => Promise<void>): Promise<{ breakdown: Breakdown; cpuSeconds: number; ownFunctions: { name: string; cpuSeconds: number }[] }> {
  const file = join(worker.state, "perf.data");
  const perf: ChildProcess = spawn("perf", ["record", "-F", String(HZ), "-g", "-o", file, "-p", workerdPids(worker).join(",")], { stdio: ["ignore", "ignore", "pipe"] });
  let perfErr = "";
  perf.stderr!.on("data", (d) => (perfErr += d));
  await new Promise((r) => setTimeout(r, 1_000));
  if (perf.exitCode !== null) throw new Error(`perf record failed: ${perfErr.trim()}`);
  try {
    await run();
  } finally {
    perf.kill("SIGINT");
    await new Promise((r) => perf.once("exit", r));
  }
  const script = spawn("perf", ["script", "-i", file, "-F", "ip,sym"], { stdio: ["ignore", "pipe", "pipe"] });
  let scriptErr = "";
  script.stderr!.on("data", (d) => (scriptErr += d));
  const scriptExit = new Promise<number | null>((resolve) => script.once("exit", resolve));
  const counts: Breakdown = Object.fromEntries(COMPONENTS.map((c) => [c.name, 0]));
  const own = new Map<string, number>();
  let frames: string[] = [];
  let samples = 0;
  const classify = () => {
    if (frames.length === 0) return;
    samples++;
    const component = componentOf(frames);
    counts[component]!++;
    if (component === COMPONENTS[0].name) {
      const name = ownFunctionOf(frames);
      own.set(name, (own.get(name) ?? 0) + 1);
    }
    frames = [];
  };
  for await (const line of createInterface({ input: script.stdout! })) {
    if (line.trim() === "") classify();
    else frames.push(line);
  }
  classify();
  const code = await scriptExit;
  if (code !== 0 || samples === 0) throw new Error(`perf script gave ${samples} samples (exit ${code}): ${scriptErr.trim().slice(0, 500)}`);
  const ownFunctions = [...own].sort((a, b) => b[1] - a[1]).slice(0, TOP_FUNCTIONS).map(([name, n]) => ({ name, cpuSeconds: round(n / HZ, 2) }));
  return { breakdown: Object.fromEntries(Object.entries(counts).map(([k, n]) => [k, round(n / HZ, 2)])), cpuSeconds: round(samples / HZ, 2), ownFunctions };
}

/** The innermost frame of the Worker's own bundle, as "function (bundle line)". */
function ownFunctionOf(frames: string[]): string {
  for (const frame of frames) {
    // V8 marks each name with its tier (~ ^ + *, o* for on-stack replacement, ' for a context-specialised copy).
    const js = /JS:(?:o(?=\*))?[~^+*']*(\S*)\s+(?:index|worker)\.js:(\d+):\d+/.exec(frame);
    if (js) return `${js[1] || "(anonymous)"} (line ${js[2]})`;
  }
  return "?";
}

/** Natives charged to themselves even when JavaScript called them (the first four native components). */
const LEAF_NATIVES = COMPONENTS.filter((c) => "native" in c).slice(0, 4);

function componentOf(frames: string[]): string {
  const jsAt = frames.findIndex((frame) => JS_FRAME.test(frame));
  const leaf = (jsAt === -1 ? frames : frames.slice(0, jsAt)).join("\n");
  const native = LEAF_NATIVES.find((c) => c.native.test(leaf));
  if (native) return native.name;
  if (jsAt !== -1) {
    const scriptName = JS_FRAME.exec(frames[jsAt]!)![1]!.replace(/^.*\//, "");
    return COMPONENTS.find((c) => "script" in c && c.script.test(scriptName))!.name;
  }
  return COMPONENTS.find((c) => "native" in c && c.native.test(leaf))!.name;
}

const JS_FRAME = /JS:\S*\s+(\S+?):\d+:\d+/;

async function copyProfile() {
  if (spawnSync("perf", ["--version"]).status !== 0) throw new Error("perf is not installed (Debian: apt-get install linux-perf)");
  process.env.MINIFLARE_WORKERD_V8_FLAGS = "--perf-basic-prof";
  const dir = mkdtempSync(join(tmpdir(), "bench-profile-"));
  const corpus = generateBenchCorpus(dir);
  const origin = await startLegacyOrigin(corpus, dir);
  try {
    const paths = corpus.files.map((f) => `/media/${f.relativePath}`);
    const floorWorker = await startWranglerDev(PORT, {}, { config: "bench/floor/wrangler.toml", localTracing: false });
    let floorSeconds = 0;
    const floor = await profiled(floorWorker, async () => {
      const res = await fetch(`${floorWorker.url}/run`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ origin: origin.url, paths, concurrency: CONCURRENCY, store: true }) });
      if (!res.ok) throw new Error(`floor run: ${res.status} ${await res.text()}`);
      floorSeconds = ((await res.json()) as { ms: number }).ms / 1000;
    }).finally(() => floorWorker.stop());

    const worker = await startWranglerDev(PORT, { LEGACY_ORIGIN: origin.url, ADMIN_TOKEN: BENCH_TOKEN, JWT_SECRET: "bench", LEGACY_JWT_SECRET: "bench-legacy" }, { localTracing: false });
    let job: any;
    await putExport(worker, "bench", "users", exportCsv(corpus, "users"));
    await putExport(worker, "bench", "files", exportCsv(corpus, "files"));
    const engine = await profiled(worker, async () => {
      const { id } = await api(worker, "/admin/jobs", { method: "POST", body: JSON.stringify({ kind: "full", exportSet: "bench", settings: SETTINGS }) });
      job = await waitFor(worker, id, ended, 600_000, undefined, 250);
    }).finally(() => worker.stop());
    if (job.state !== "completed") throw new Error(`the full job ended ${job.state}`);
    return { files: corpus.files.length, settings: SETTINGS, hz: HZ, floor: { seconds: floorSeconds, ...floor }, engine: { seconds: jobSeconds(job), ...engine } };
  } finally {
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function copyProfileMarkdown(r: Awaited<ReturnType<typeof copyProfile>>): string {
  const perFile = (s: number) => round((s * 1000) / r.files, 2);
  const rows = COMPONENTS.map(({ name }) => {
    const f = r.floor.breakdown[name] ?? 0;
    const e = r.engine.breakdown[name] ?? 0;
    return `| ${name} | ${f} | ${e} | ${round(e - f, 2)} | ${perFile(e - f)} |`;
  });
  return `${MARK}
## Where the copy's CPU goes: the floor and the engine, by component

\`npm run bench:copy-profile\`: the ${r.files}-file corpus copied once by the platform floor (fetch → local R2 put, ${r.floor.seconds} s) and once by a \`full\` job (${r.engine.seconds} s, settings ${JSON.stringify(r.settings)}), each sampled by Linux \`perf\` at ${r.hz} Hz over every workerd thread, JavaScript named per isolate by V8's \`--perf-basic-prof\`. A sample whose innermost frames are SQLite, hashing, garbage collection or the kernel counts there, whoever called it; any other, to the isolate of its innermost JavaScript frame. CPU seconds; the engine's job includes planning.

| component | floor, CPU s | engine, CPU s | engine adds, CPU s | per file, ms |
|---|---|---|---|---|
${rows.join("\n")}
| **all** | **${r.floor.cpuSeconds}** | **${r.engine.cpuSeconds}** | **${round(r.engine.cpuSeconds - r.floor.cpuSeconds, 2)}** | **${perFile(r.engine.cpuSeconds - r.floor.cpuSeconds)}** |

The engine's own JavaScript by function (innermost frame of the bundle, so the runtime work it calls counts for it, but not SQLite, hashing, collection or the kernel; lines of the bundle \`wrangler dev\` built):
${r.engine.ownFunctions.map((f) => `${f.name}: ${f.cpuSeconds} s`).join("; ")}.
`;
}

runWhenMain(import.meta.url, { key: "copyProfile", mark: MARK, run: copyProfile, markdown: copyProfileMarkdown });
