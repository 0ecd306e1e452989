// What the benches share about a Worker under `wrangler dev`: its admin API, and its workerd
// processes' memory and CPU.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { DevWorker } from "../scripts/wrangler-dev.ts";

export const BENCH_TOKEN = "bench-admin-token";
const TOKEN = BENCH_TOKEN;

export const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

export async function api(worker: DevWorker, path: string, init: RequestInit = {}): Promise<any> {
  const res = await fetch(`${worker.url}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" } });
  const body = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

export async function putExport(worker: DevWorker, set: string, table: string, csv: string) {
  const res = await fetch(`${worker.url}/admin/exports/${set}/${table}`, { method: "PUT", body: csv, headers: { authorization: `Bearer ${TOKEN}` } });
  if (res.status !== 201) throw new Error(`upload ${table}: ${res.status} ${await res.text()}`);
}

export async function waitFor(worker: DevWorker, id: string, until: (job: any) => boolean, timeoutMs: number, onPoll?: () => void, pollMs = 1_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    onPoll?.();
    const job = await api(worker, `/admin/jobs/${id}`);
    if (until(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} timed out: ${JSON.stringify(job)}`);
    // Polling is not free under `wrangler dev` (every request runs on workerd's one thread), and
    // durations come from the job's own timestamps, so a slow poll costs no precision.
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Seconds from a job's creation to its end, by the coordinator's clock. */
export const jobSeconds = (job: any) => (Date.parse(job.finishedAt) - Date.parse(job.createdAt)) / 1000;

export const ended = (job: any) => ["completed", "completed_with_failures", "failed", "cancelled"].includes(job.state);

/** The workerd processes in the dev worker's process group. */
export function workerdPids(worker: DevWorker): string[] {
  const ps = spawnSync("ps", ["-o", "pid=,comm=", "-g", String(worker.process.pid)], { encoding: "utf8" });
  return ps.stdout
    .trim()
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter(([, comm]) => comm?.startsWith("workerd"))
    .map(([pid]) => pid!);
}

/** Peak resident memory (MiB) of the dev worker's workerd processes. */
export function workerdPeakMiB(worker: DevWorker): number {
  const peaks = workerdPids(worker).map((pid) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024);
  return round(Math.max(0, ...peaks), 1);
}

const CLOCK_TICKS = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** CPU seconds (user + system) the dev worker's workerd processes have used so far. */
export function workerdCpuSeconds(worker: DevWorker): number {
  let ticks = 0;
  for (const pid of workerdPids(worker)) {
    // Fields after the command name: utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / CLOCK_TICKS;
}

