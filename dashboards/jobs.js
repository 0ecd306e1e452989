// Migration jobs (GET /admin/jobs, JobView in src/coordinator/model.ts), their controls, and the start form.
import { api } from "./api.js";
import { confirmChange } from "./dialog.js";
import { $, el, isEnabled, KeyedList, setEnabled, setText } from "./dom.js";
import { failuresPanel } from "./failures.js";
import { fmtBytes, fmtCount, fmtSeconds, fmtTime, shortId } from "./format.js";

const ACTIVE = ["planning", "copying", "verifying"];
const verifiesOnly = (kind) => kind === "verify" || kind === "reverse";

/**
 * The bar is items-based: bytes cannot be, since the byte total only knows the sizes declared in
 * the export for items not copied yet (see bytesText).
 */
function progress(job) {
  const { total, done, failed } = job.items;
  const finished = done + failed;
  if (job.state === "planning") return { value: null, max: 1, text: `planning: ${fmtCount(total)} items so far` };
  if (total === 0) return { value: ACTIVE.includes(job.state) ? 0 : 1, max: 1, text: "no items" };
  return { value: finished, max: total, text: `${Math.floor((100 * finished) / total)} % of items finished (${fmtCount(finished)} of ${fmtCount(total)})` };
}

/** bytes.total = real sizes of items copied + declared sizes of the rest (0 where none is declared): a lower bound. */
function bytesText(job) {
  const verb = verifiesOnly(job.kind) ? "checked" : "copied";
  return `${fmtBytes(job.bytes.done)} ${verb} of ≥ ${fmtBytes(job.bytes.total)} known so far (estimate)`;
}

function etaText(job) {
  if (!ACTIVE.includes(job.state)) return "—";
  return job.eta === null ? "unknown until an item is done" : fmtSeconds(job.eta);
}

function stats(job) {
  const { items } = job;
  const rows = [
    ["Items", `${fmtCount(items.done)} done · ${fmtCount(items.failed)} failed · ${fmtCount(items.leased)} in flight · ${fmtCount(items.pending)} pending · ${fmtCount(items.total)} in all`],
    ["Bytes", bytesText(job)],
    ["Throughput", `${job.throughput.filesPerSecond} files/s · ${fmtBytes(job.throughput.bytesPerSecond)}/s`],
    ["ETA", etaText(job)],
  ];
  if (!verifiesOnly(job.kind)) rows.push(["Imported", `${fmtCount(job.users.migrated)} users · ${fmtCount(job.filters.migrated)} filters · ${fmtCount(job.rowErrors)} bad rows · conflicts ${job.conflicts.open} open of ${job.conflicts.total}`]);
  if (job.fromSeq !== undefined) rows.push(["Outbox", `(${job.fromSeq}, ${job.toSeq}] · applied on legacy: ${job.appliedAt ? fmtTime(job.appliedAt) : "not yet"}`]);
  return rows.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]);
}

function meta(job) {
  const parts = [`id ${job.id}`, job.exportSet && `export set ${job.exportSet}`, `created ${fmtTime(job.createdAt)}`, job.startedAt && `started ${fmtTime(job.startedAt)}`, job.finishedAt && `finished ${fmtTime(job.finishedAt)}`];
  return parts.filter(Boolean).join(" · ");
}

/** What each control button does, and whether it applies to a job. */
const CONTROLS = [
  { label: (job) => (job.paused ? "Resume" : "Pause"), action: (job) => (job.paused ? "resume" : "pause"), applies: (job) => ACTIVE.includes(job.state) },
  { label: () => "Cancel…", action: () => "cancel", applies: (job) => ACTIVE.includes(job.state), confirm: (job) => ({ title: "Cancel this job?", text: `${job.kind} job ${shortId(job.id)} stops; items not copied yet stay uncopied.`, confirmLabel: "Cancel the job", danger: true }) },
  { label: () => "Retry failed", action: () => "retry-failed", applies: (job) => job.state === "completed_with_failures" },
];

function createJobCard(first, run) {
  let job = first;
  const title = el("h3");
  const badge = el("span", { className: "badge" });
  const metaLine = el("p", { className: "meta" });
  const bar = el("progress", { "aria-label": `Items finished, ${first.kind} job ${shortId(first.id)}` });
  const barText = el("span", { className: "bar-text" });
  const statList = el("dl", { className: "stats" });
  const error = el("p", { className: "error" });
  const buttons = CONTROLS.map((control) => {
    const button = el("button", { type: "button", onclick: () => isEnabled(button) && run(() => perform(control)) });
    return { control, button };
  });
  const failures = failuresPanel(first.id);
  const node = el("article", { className: "job" }, el("header", {}, title, badge), metaLine, el("div", { className: "bar" }, bar, barText), statList, error, el("div", { className: "actions" }, ...buttons.map((b) => b.button)), failures.node);

  async function perform(control) {
    if (control.confirm && !(await confirmChange(control.confirm(job)))) return null;
    const action = control.action(job);
    await api(`/admin/jobs/${job.id}/${action}`, { method: "POST", body: {} });
    return `${action}: ${job.kind} job ${shortId(job.id)}`;
  }

  function update(next) {
    job = next;
    node.className = `job state-${job.state}`;
    setText(title, `${job.kind} job ${shortId(job.id)}`);
    setText(badge, job.paused ? `${job.state} (paused)` : job.state);
    setText(metaLine, meta(job));
    const p = progress(job);
    bar.max = p.max;
    if (p.value === null) bar.removeAttribute("value");
    else bar.value = p.value;
    setText(barText, p.text);
    statList.replaceChildren(...stats(job));
    setText(error, job.error ?? "");
    error.hidden = !job.error;
    for (const { control, button } of buttons) {
      // Greyed out, not hidden: a refresh never takes the keyboard focus away.
      setEnabled(button, control.applies(job));
      setText(button, control.label(job));
    }
    failures.update(job);
  }
  return { node, update };
}

/** The job settings of POST /admin/jobs (README: maxInFlight, batchSize, ratePerSecond…); the API checks each. */
function parseSettings(text) {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error("settings: not JSON (for example {\"maxInFlight\": 16})");
  }
}

let list = null;

export function renderJobs(jobs) {
  $("jobsEmpty").hidden = jobs.length > 0;
  setText($("jobsEmpty"), "No jobs yet.");
  list.update(jobs, (job) => job.id);
}

/** `run(action, statusElement)` runs a change and reports its outcome. */
export function wireJobs({ run }) {
  const status = $("jobsResult");
  list = new KeyedList($("jobList"), (job) => createJobCard(job, (action) => run(action, status)));
  $("start").addEventListener("submit", (event) => {
    event.preventDefault();
    run(async () => {
      const body = { kind: $("kind").value };
      if ($("exportSet").value) body.exportSet = $("exportSet").value.trim();
      if ($("since").value) body.since = Number($("since").value);
      if ($("settings").value.trim()) body.settings = parseSettings($("settings").value);
      const job = await api("/admin/jobs", { method: "POST", body });
      return `Started ${job.kind} job ${shortId(job.id)}`;
    }, status);
  });
}
