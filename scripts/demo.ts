// npm run demo — the whole system on this machine: a generated legacy site on 127.0.0.1, the Worker
// under `wrangler dev`, a full migration with live progress, a verify job, and traffic moved from
// legacy to the new app. Stops everything it started; exits non-zero if any step fails.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateCorpus, type Corpus } from "../test/legacy-origin/corpus.ts";
import { startLegacyOrigin, type LegacyOrigin } from "../test/legacy-origin/server.ts";
import { startWranglerDev, type DevWorker } from "./wrangler-dev.ts";

const FILES = Number(process.env.DEMO_FILES ?? 300);
if (!Number.isInteger(FILES) || FILES < 1 || FILES > 5_000) {
  console.error(`✖ demo failed: DEMO_FILES must be a whole number from 1 to 5000 (got ${process.env.DEMO_FILES})`);
  process.exit(1);
}
const PORT = Number(process.env.DEMO_PORT ?? 8788);
const TOKEN = "demo-admin-token";
const MAX_FILE_SIZE = 2 * 1024 * 1024;
const TTL_MS = 500;

const tty = process.stdout.isTTY;
const step = (text: string) => console.log(`\n▶ ${text}`);
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

async function api(worker: DevWorker, path: string, init: RequestInit = {}): Promise<any> {
  const res = await fetch(`${worker.url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...(init.headers ?? {}) } });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

function progressLine(job: any): string {
  const done = job.items.done + job.items.failed;
  const width = 30;
  const filled = job.items.total ? Math.round((width * done) / job.items.total) : 0;
  const bar = "█".repeat(filled) + "░".repeat(width - filled);
  const eta = job.eta === null ? "?" : `${job.eta}s`;
  return `[${bar}] ${done}/${job.items.total} items  ${mib(job.bytes.done)}/${mib(job.bytes.total)} MiB  ${job.throughput.filesPerSecond} files/s  ${mib(job.throughput.bytesPerSecond)} MiB/s  ETA ${eta}  (${job.state})`;
}

/** Polls a job, drawing its progress, until it ends; fails unless it ends `completed`. */
async function follow(worker: DevWorker, id: string, timeoutMs = 300_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let lastPrinted = 0;
  for (;;) {
    const job = await api(worker, `/admin/jobs/${id}`);
    const ended = ["completed", "completed_with_failures", "failed", "cancelled"].includes(job.state);
    if (tty) process.stdout.write(`\r${progressLine(job)}`);
    else if (ended || Date.now() - lastPrinted > 1000) {
      console.log(progressLine(job));
      lastPrinted = Date.now();
    }
    if (ended) {
      if (tty) process.stdout.write("\n");
      if (job.state !== "completed") throw new Error(`job ${id} ended ${job.state}: ${job.error ?? JSON.stringify(job.items)}`);
      return job;
    }
    if (Date.now() > deadline) throw new Error(`job ${id} did not finish within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function showTraffic(worker: DevWorker, percent: number): Promise<Record<string, number>> {
  await api(worker, "/admin/cutover", { method: "PATCH", body: JSON.stringify({ percent }) });
  await new Promise((r) => setTimeout(r, TTL_MS + 100));
  const served: Record<string, number> = {};
  for (let visitor = 0; visitor < 12; visitor++) {
    const cookie = `lc_bucket=${((visitor * 2654435761) >>> 0).toString(16).padStart(8, "0")}`;
    const res = await fetch(`${worker.url}/api/list_cutter/list_saved_files/`, { headers: { cookie } });
    await res.arrayBuffer();
    const side = res.headers.get("x-served-by") ?? "none";
    served[side] = (served[side] ?? 0) + 1;
    if (visitor < 4) console.log(`  visitor ${visitor}: HTTP ${res.status}, X-Served-By: ${side}`);
  }
  console.log(`  at ${percent} %: ${JSON.stringify(served)}`);
  return served;
}

async function main(): Promise<void> {
  const diskRoot = mkdtempSync(join(tmpdir(), "demo-legacy-media-"));
  let origin: LegacyOrigin | null = null;
  let worker: DevWorker | null = null;
  try {
    step(`Generating a legacy corpus: users with Django password hashes and ${FILES} CSVs`);
    const corpus: Corpus = generateCorpus({ diskRoot, mediaRoot: "/app/media", users: 25, files: FILES, maxFileSize: MAX_FILE_SIZE });
    const files = corpus.files.filter((f) => !f.oversize);
    console.log(`  ${corpus.users.length} users, ${files.length} files, ${mib(files.reduce((n, f) => n + f.size, 0))} MiB in ${diskRoot}`);

    step("Serving it from the legacy origin");
    origin = await startLegacyOrigin(corpus, diskRoot);
    console.log(`  ${origin.url}/media/…`);

    step(`Starting the Worker (wrangler dev, D1 migrations applied) on port ${PORT}`);
    worker = await startWranglerDev(PORT, {
      LEGACY_ORIGIN: origin.url,
      ADMIN_TOKEN: TOKEN,
      JWT_SECRET: "demo-jwt-secret",
      LEGACY_JWT_SECRET: "demo-legacy-secret",
      MAX_FILE_SIZE: String(MAX_FILE_SIZE),
      CUTOVER_CACHE_TTL_MS: String(TTL_MS),
    });
    console.log(`  ${worker.url}  (health: ${JSON.stringify(await (await fetch(`${worker.url}/health`)).json())})`);

    step("Uploading the legacy export (users, files, filters)");
    for (const table of ["users", "files", "filters"]) {
      const csv = await (await fetch(`${origin.url}/__exports/${table}.csv`)).text();
      const res = await fetch(`${worker.url}/admin/exports/demo/${table}`, { method: "PUT", body: csv, headers: { authorization: `Bearer ${TOKEN}` } });
      if (res.status !== 201) throw new Error(`upload of ${table}.csv: ${res.status} ${await res.text()}`);
      console.log(`  ${table}.csv: ${csv.length} bytes`);
    }

    step("Running a full migration job");
    const full = await api(worker, "/admin/jobs", { method: "POST", body: JSON.stringify({ kind: "full", exportSet: "demo", settings: { maxInFlight: 64, consumerConcurrency: 16 } }) });
    const copied = await follow(worker, full.id);
    console.log(`  job completed: ${copied.items.done} files, ${copied.users.migrated} users, ${copied.filters.migrated} filters migrated`);
    if (copied.items.done !== files.length || copied.users.migrated !== corpus.users.length) throw new Error("the job's counts do not match the export");

    step("Verifying every migrated object against D1 (verify job)");
    const verify = await api(worker, "/admin/jobs", { method: "POST", body: JSON.stringify({ kind: "verify" }) });
    const verified = await follow(worker, verify.id);
    console.log(`  verify completed: ${verified.items.done} objects re-read, size and SHA-256 match`);

    step("Moving traffic: 0 → 25 → 100 %");
    const at0 = await showTraffic(worker, 0);
    const at25 = await showTraffic(worker, 25);
    const at100 = await showTraffic(worker, 100);
    if (at0.workers || at100.legacy || !at25.legacy || !at25.workers) throw new Error("traffic did not move as expected");

    step("A migrated user logs in to the new app with their old password");
    const user = corpus.users[0]!;
    const login = await fetch(`${worker.url}/api/accounts/login/`, { method: "POST", body: JSON.stringify({ username: user.username, password: user.password }), headers: { "content-type": "application/json" } });
    const tokens = (await login.json()) as { access?: string };
    if (!tokens.access) throw new Error(`login failed: ${login.status}`);
    const list = (await (await fetch(`${worker.url}/api/list_cutter/list_saved_files/`, { headers: { authorization: `Bearer ${tokens.access}` } })).json()) as { files: unknown[] };
    console.log(`  ${user.username}: logged in (X-Served-By: ${login.headers.get("x-served-by")}), ${list.files.length} files listed`);

    step("Done. Where to look next:");
    console.log(`  • README.md — the architecture, the operator API and the cutover runbook
  • npm start, then http://localhost:8787/dashboard — the operator dashboard (token in .dev.vars)
  • npm test — the workerd test suite; npm run bench — copy throughput against a plain Node baseline`);
  } finally {
    await worker?.stop();
    await origin?.close();
    rmSync(diskRoot, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`\n✖ demo failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
