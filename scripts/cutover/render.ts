// A cutover run as text: the full view (a status, or one frame of the live view) and the one-line
// form a non-terminal gets. Pure: the same view and `now` give the same text. Every string of the
// view is made printable first: notes, errors and reasons can carry text from export rows.
import { printableDeep } from "../lib/printable.ts";
import { bytes, count, decimal, duration, paint, since, time, type Paint } from "./format.ts";
import type { GateView, JobView, RunView, StageView } from "./view.ts";

export interface RenderOptions {
  color: boolean;
}

const MARKS: Record<string, string> = { done: "✓", failed: "✗", running: "▶", pending: "·", skipped: "↷" };
const LABEL_WIDTH = 10;
const BAR_WIDTH = 30;

export function renderRun(fromWorker: RunView, now: number, { color }: RenderOptions): string {
  const view = printableDeep(fromWorker);
  const p = paint(color);
  const lines = [`${p.bold("Cutover run")} ${view.id}   ${stateLabel(view.state, p)}`, `  ${summary(view, now)}`];
  if (view.attention) lines.push(p.bold(p.red(`‼ ATTENTION: ${view.attention}`)));
  if (view.waitingFor) lines.push(`  waiting for: ${view.waitingFor}`);
  lines.push("", p.bold("Stages"), ...table(view.stages.map((s) => stageCells(s, view, now, p))).map((row) => `  ${row}`), "");
  const field = (label: string, text: string) => lines.push(`${p.bold(label.padEnd(LABEL_WIDTH))} ${text}`);
  field("Gate", gate(view.gate, now, p));
  field("New app", newApp(view, p));
  field("Sync", sync(view));
  if (view.gate.holdBack) field("Hold back", `users who wrote on the new app stay there until a reverse bundle past change ${view.gate.holdBack.afterSeq} is applied (since ${time(view.gate.holdBack.since, now)})`);
  if (view.job) {
    field("Job", job(view.job, p));
    lines.push(`${"".padEnd(LABEL_WIDTH)} ${bar(view.job)}`);
    if (view.job.error) lines.push(`${"".padEnd(LABEL_WIDTH)} ${p.red(`error: ${view.job.error}`)}`);
  }
  if (view.validation && Array.isArray(view.validation.checks)) field("Validation", validation(view.validation, p));
  return lines.join("\n");
}

/** One line for logs: what changed is what an operator scans for. */
export function compactLine(fromWorker: RunView, now: number): string {
  const view = printableDeep(fromWorker);
  const parts = [`${new Date(now).toISOString().slice(0, 19)}Z run ${view.id.slice(0, 8)} ${view.state}`];
  const index = view.stages.findIndex((s) => s.name === view.stage);
  if (view.stage) parts.push(`${view.stage} (stage ${index + 1}/${view.stages.length})`);
  const { gate: g } = view;
  parts.push(`${split(g.percent)}${g.maintenance ? " · maintenance on" : ""}${g.plan ? ` · step ${g.plan.step}/${g.plan.of}` : ""}`);
  if (view.job) {
    const j = view.job;
    parts.push(`${j.kind} job ${j.state}${j.paused ? " (paused)" : ""} ${count(j.items.done)}/${count(j.items.total)} items ${bytes(j.bytes.done)}/${bytes(j.bytes.total)}${j.eta === null ? "" : ` ETA ${duration(j.eta)}`}`);
  }
  if (g.newApp.requests > 0) parts.push(`new app errors ${decimal(g.newApp.errorRate * 100)} % p95 ${g.newApp.p95Ms ?? "-"} ms`);
  if (view.attention) parts.push(`! ${view.attention}`);
  if (view.waitingFor) parts.push(`waiting for ${view.waitingFor}`);
  return parts.join(" · ");
}

/** What, when it changes, is worth a new line (throughput and ETA alone are not). */
export function changeKey(view: RunView): string {
  const j = view.job;
  const g = view.gate;
  return JSON.stringify([view.state, view.stage, view.waitingFor, view.attention, view.stages.map((s) => s.state), g.phase, g.percent, g.maintenance, g.plan?.step, g.plan?.held, j?.id, j?.state, j?.paused, j?.items.done, j?.items.failed]);
}

function stateLabel(state: string, p: Paint): string {
  const label = state.replace(/_/g, " ").toUpperCase();
  if (state === "completed") return p.bold(p.green(label));
  if (state === "running") return p.bold(p.cyan(label));
  if (state === "paused") return p.bold(p.yellow(label));
  return p.bold(p.red(label));
}

function summary(view: RunView, now: number): string {
  const started = `started ${time(view.createdAt, now)} UTC (${duration(since(view.createdAt, now))} ago) by ${view.startedBy}`;
  const finished = view.finishedAt ? ` · finished ${time(view.finishedAt, now)} after ${duration((Date.parse(view.finishedAt) - Date.parse(view.createdAt)) / 1000)}` : "";
  return `export set ${view.plan.exportSet} · ${started}${finished}`;
}

function stageCells(s: StageView, view: RunView, now: number, p: Paint): string[] {
  const mark = MARKS[s.state] ?? "?";
  const painted = s.state === "done" ? p.green(mark) : s.state === "failed" ? p.red(mark) : s.state === "running" ? p.cyan(mark) : p.dim(mark);
  const current = s.name === view.stage && s.state === "running";
  const name = current ? p.bold(s.name) : s.state === "pending" ? p.dim(s.name) : s.name;
  if (!s.startedAt) return [`${painted} ${name}`];
  const end = s.endedAt ?? null;
  const took = duration(((end ? Date.parse(end) : now) - Date.parse(s.startedAt)) / 1000);
  let note = s.state === "skipped" ? `skipped: ${s.note ?? ""}` : (s.note ?? "");
  if (s.state === "failed") note = p.red(note);
  if (current && s.timeoutAt) note = [note, p.dim(`times out in ${duration(-since(s.timeoutAt, now))}`)].filter(Boolean).join(" · ");
  return [`${painted} ${name}`, time(s.startedAt, now), "→", end ? time(end, now) : "…", took, note];
}

/** Rows of cells, each column as wide as its widest cell (ANSI styles not counted); the last column is not padded. */
function table(rows: string[][]): string[] {
  const visible = (cell: string) => cell.replace(/\x1b\[\d+m/g, "").length;
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visible(cell))));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell + " ".repeat(widths[i]! - visible(cell)))).join("  ").trimEnd());
}

function split(percent: number): string {
  return `new ${decimal(percent)} % / legacy ${decimal(100 - percent)} %`;
}

function gate(g: GateView, now: number, p: Paint): string {
  const parts = [`phase ${g.phase}`, split(g.percent), g.maintenance ? p.bold(p.yellow("maintenance ON")) : "maintenance off"];
  if (g.plan) {
    const held = g.plan.stepStartedAt ? ` · on this step ${duration(since(g.plan.stepStartedAt, now))} of ${duration(g.plan.holdSeconds)}` : "";
    parts.push(`canary step ${g.plan.step}/${g.plan.of} (${g.plan.steps.map(decimal).join(" → ")} %)${held}${g.plan.held ? p.yellow(" (walk held)") : ""}`);
  }
  return parts.join(" · ");
}

function newApp(view: RunView, p: Paint): string {
  const s = view.gate.newApp;
  if (s.requests === 0) return "no requests in the analysis window";
  const limit = view.plan.thresholds?.errorRate;
  const rate = `error rate ${decimal(s.errorRate * 100)} %`;
  const over = limit !== undefined && s.errorRate > limit;
  return [
    `${over ? p.bold(p.red(rate)) : rate} (${count(s.errors)} of ${count(s.requests)} requests${limit === undefined ? "" : `; limit ${decimal(limit * 100)} %`})`,
    `p95 ${s.p95Ms ?? "-"} ms${view.plan.thresholds?.p95Ms === undefined ? "" : ` (limit ${view.plan.thresholds.p95Ms} ms)`}`,
    `p50 ${s.p50Ms ?? "-"} ms`,
  ].join(" · ");
}

function sync(view: RunView): string {
  const { lastSync, lagSeconds } = view.sync;
  if (!lastSync) return "no full or delta job has finished yet";
  const max = view.plan.canary.maxSyncLagSeconds;
  const lag = lagSeconds === null ? "lag unknown" : `lag ${duration(lagSeconds)}${max ? ` (at most ${duration(max)} to advance)` : ""}`;
  return `${lag} · last ${lastSync.kind} job ${lastSync.jobId}`;
}

function job(j: JobView, p: Paint): string {
  const state = `${j.state}${j.paused ? " (paused)" : ""}`;
  return [
    `${j.kind} job ${j.id} ${j.paused ? p.yellow(state) : state}`,
    `items ${count(j.items.done)}/${count(j.items.total)}${j.items.failed ? p.red(` (${count(j.items.failed)} failed)`) : ""}`,
    `${bytes(j.bytes.done)} / ${bytes(j.bytes.total)}`,
    `${decimal(j.throughput.filesPerSecond)} files/s, ${bytes(j.throughput.bytesPerSecond)}/s`,
    `ETA ${j.eta === null ? "-" : duration(j.eta)}`,
  ].join(" · ");
}

function bar(j: JobView): string {
  const finished = j.items.done + j.items.failed;
  const share = j.items.total > 0 ? Math.min(1, finished / j.items.total) : 0;
  const filled = Math.round(share * BAR_WIDTH);
  return `[${"█".repeat(filled)}${"░".repeat(BAR_WIDTH - filled)}] ${Math.floor(share * 100)} %`;
}

function validation(v: NonNullable<RunView["validation"]>, p: Paint): string {
  const failed = v.checks.filter((c) => !c.ok).map((c) => c.name);
  const passed = `${v.checks.length - failed.length}/${v.checks.length} checks passed`;
  return failed.length === 0 ? p.green(passed) : `${passed}; ${p.red(`failed: ${failed.join(", ")}`)}`;
}
