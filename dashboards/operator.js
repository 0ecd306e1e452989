// Operator dashboard: one live page polling the operator API every 2 s with the token the operator typed.
import { readAlerts, renderAlerts, wireAlerts } from "./alerts.js";
import { api, currentToken, useToken } from "./api.js";
import { renderAudit } from "./audit.js";
import { renderCutover, wireCutover } from "./cutover.js";
import { $, setText } from "./dom.js";
import { renderJobs, wireJobs } from "./jobs.js";
import { renderRun, wireRun } from "./run.js";
import { onWindowChange, readTraffic, renderTraffic } from "./traffic.js";

const POLL_MS = 2_000;

let cutover = null;

/** What each poll reads, in the order it is rendered (the charts use the cutover state read just before). */
const SOURCES = [
  {
    read: () => api("/admin/cutover"),
    render: (state) => {
      cutover = state;
      renderCutover(state);
      renderAudit(state.history);
    },
    errorId: "cutoverError",
  },
  { read: () => readTraffic(api), render: (traffic) => renderTraffic(traffic, cutover), errorId: "trafficError" },
  { read: () => api("/admin/jobs"), render: ({ jobs }) => renderJobs(jobs), errorId: "jobsError" },
  { read: () => api("/admin/cutover/run").catch(noRun), render: renderRun, errorId: "runError" },
  { read: readAlerts, render: renderAlerts, errorId: "alertsError" },
];

/** GET /admin/cutover/run answers 404 while no run has been started. */
function noRun(error) {
  if (error.status === 404) return null;
  throw error;
}

let timer = null;
let polling = false;
let pollAgain = false;
let connected = false;

function showSectionError(id, error) {
  const node = $(id);
  node.hidden = !error;
  setText(node, error ? `Could not refresh: ${error.message}` : "");
}

async function poll() {
  clearTimeout(timer);
  if (polling) {
    pollAgain = true;
    return;
  }
  polling = true;
  const results = await Promise.allSettled(SOURCES.map((s) => s.read()));
  polling = false;
  if (!connected) return;
  if (results.some((r) => r.status === "rejected" && r.reason.status === 401)) return disconnect("The token was refused (401): enter it again.");
  results.forEach((result, i) => {
    const source = SOURCES[i];
    let error = result.status === "rejected" ? result.reason : null;
    // One section failing to draw must not stop the others, nor the polling.
    if (result.status === "fulfilled") {
      try {
        source.render(result.value);
      } catch (e) {
        error = e;
      }
    }
    showSectionError(source.errorId, error);
  });
  setText($("updated"), `Live: updated ${new Date().toISOString().slice(11, 19)} UTC, every ${POLL_MS / 1000} s`);
  if (pollAgain) {
    pollAgain = false;
    return poll();
  }
  timer = setTimeout(poll, POLL_MS);
}

function disconnect(message) {
  connected = false;
  clearTimeout(timer);
  setText($("updated"), "Not connected.");
  report($("status"), message, true);
}

function report(node, message, failed = false) {
  node.classList.toggle("failed", failed);
  setText(node, message);
}

/** Runs an operator change; its outcome (or refusal) goes to `status`, then the page refreshes at once. */
async function run(action, status) {
  try {
    const message = await action();
    if (message) report(status, message);
    poll();
  } catch (error) {
    report(status, error.message, true);
  }
}

function connect(token) {
  useToken(token);
  connected = true;
  report($("status"), "");
  poll();
}

wireCutover({ run });
wireJobs({ run });
wireRun({ run });
wireAlerts({ run });
onWindowChange(poll);

$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  connect($("token").value);
});

if (currentToken()) {
  $("token").value = currentToken();
  connect(currentToken());
}
