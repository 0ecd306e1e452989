// The cutover run (GET /admin/cutover/run, coordinator/cutover-run-view.ts): stages, what it waits
// for, why it wants attention, and pause / resume / abort.
import { api } from "./api.js";
import { confirmChange } from "./dialog.js";
import { $, el, isEnabled, setEnabled, setText } from "./dom.js";
import { fmtMs, fmtRatio, fmtTime, shortId } from "./format.js";

const MARKS = { done: "✓", running: "▶", failed: "✗", skipped: "↷", pending: "·" };

const toggle = $("runToggle");
const abort = $("runAbort");
let run = null;

function gateText(gate) {
  const step = gate.plan ? ` · canary step ${gate.plan.step}/${gate.plan.of}${gate.plan.held ? " (held)" : ""}` : "";
  return `phase ${gate.phase} · new app ${gate.percent} % · maintenance ${gate.maintenance ? "on" : "off"}${step}`;
}

function newAppText({ newApp }) {
  return `5xx ${fmtRatio(newApp.errorRate, 2)} of ${newApp.requests} requests · p50 ${fmtMs(newApp.p50Ms)} · p95 ${fmtMs(newApp.p95Ms)}`;
}

function summary(r) {
  const lines = [
    ["Run", `${shortId(r.id)} · ${r.state.toUpperCase()}${r.stage ? ` · stage ${r.stage}` : ""} · export set ${r.plan.exportSet}`],
    ["Started", `${fmtTime(r.createdAt)} by ${r.startedBy}${r.finishedAt ? ` · finished ${fmtTime(r.finishedAt)}` : ""}`],
    ["Waiting for", r.waitingFor ?? "nothing"],
    ["Gate", gateText(r.gate)],
    ["New app", newAppText(r.gate)],
  ];
  if (r.job) lines.push(["Job", `${r.job.kind} job ${shortId(r.job.id)} ${r.job.state} · ${r.job.items.done + r.job.items.failed} of ${r.job.items.total} items`]);
  if (r.validation && typeof r.validation === "object") lines.push(["Validation", r.validation.ok ? "passed" : "failed (see the run's report)"]);
  return lines.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]);
}

function stageTimes(s) {
  const parts = [s.startedAt && `started ${fmtTime(s.startedAt)}`, s.endedAt && `ended ${fmtTime(s.endedAt)}`, s.timeoutAt && `times out ${fmtTime(s.timeoutAt)}`];
  return parts.filter(Boolean).join(" · ");
}

function stageItem(s) {
  const details = [stageTimes(s), s.note, s.waitingFor && `waiting for ${s.waitingFor}`, s.jobIds.length && `jobs ${s.jobIds.map(shortId).join(", ")}`].filter(Boolean);
  return el(
    "li",
    { className: `stage stage-${s.state}` },
    el("span", { className: "mark", "aria-hidden": "true" }, MARKS[s.state] ?? "·"),
    el("span", { className: "name" }, s.name),
    " ",
    el("span", { className: "state" }, s.state),
    ...details.map((d) => el("span", { className: "detail" }, d)),
  );
}

/** `next`: the run, or null when none has been started (the API's 404). */
export function renderRun(next) {
  run = next;
  const attention = $("runAttention");
  attention.hidden = !next?.attention;
  setText(attention, next?.attention ? `Attention: ${next.attention}` : "");
  $("runSummary").replaceChildren(...(next ? summary(next) : [el("dt", {}, "Run"), el("dd", {}, "No cutover run has been started (POST /admin/cutover/run, or npm run cutover -- start).")]));
  $("runStages").replaceChildren(...(next ? next.stages.map(stageItem) : []));
  setText(toggle, next?.state === "paused" ? "Resume…" : "Pause…");
  setEnabled(toggle, next?.state === "running" || next?.state === "paused");
  setEnabled(abort, next?.state === "running" || next?.state === "paused");
}

const control = (action, body) => api(`/admin/cutover/run/${action}`, { method: "POST", body });

async function pauseOrResume() {
  if (run.state === "paused") {
    const ok = await confirmChange({ title: "Resume the run?", text: "The stage goes on and its timeout counts again. A job of this stage that ended completed_with_failures counts as done; a failed or cancelled one starts again.", confirmLabel: "Resume" });
    return ok && (await control("resume", {})) && "Run resumed";
  }
  const ok = await confirmChange({ title: "Pause the run?", text: "The run stops where it is: its job is paused and the canary step held (the analysis may still roll back).", confirmLabel: "Pause", reason: { label: "Reason", required: false } });
  return ok && (await control("pause", ok.reason ? { reason: ok.reason } : {})) && "Run paused";
}

async function abortRun() {
  const ok = await confirmChange({ title: "Abort the run?", text: "A rollback that ends the run: everyone back on legacy, maintenance off.", confirmLabel: "Abort the run", danger: true, reason: { label: "Reason", required: false } });
  return ok && (await control("abort", ok.reason ? { reason: ok.reason } : {})) && "Run aborted";
}

export function wireRun({ run: perform }) {
  const status = $("runResult");
  toggle.addEventListener("click", () => isEnabled(toggle) && perform(pauseOrResume, status));
  abort.addEventListener("click", () => isEnabled(abort) && perform(abortRun, status));
}
