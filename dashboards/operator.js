// Operator dashboard: polls the operator API with the token the operator typed (kept for this tab only).
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("adminToken") || "";
let timer = null;

async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...(init.headers || {}) } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  return body;
}

const fmtBytes = (n) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
const fmtEta = (s) => (s === null ? "—" : s === 0 ? "0 s" : s < 90 ? `${s} s` : `${Math.round(s / 60)} min`);

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function actions(job) {
  const td = document.createElement("td");
  const active = ["planning", "copying", "verifying"].includes(job.state);
  const available = active ? [job.paused ? "resume" : "pause", "cancel"] : job.state === "completed_with_failures" ? ["retry-failed"] : [];
  for (const action of available) {
    const button = document.createElement("button");
    button.textContent = action;
    button.onclick = () => api(`/admin/jobs/${job.id}/${action}`, { method: "POST", body: "{}" }).then(refresh, show);
    td.append(button);
  }
  return td;
}

function render(jobs) {
  const rows = jobs.map((job) => {
    const tr = document.createElement("tr");
    tr.className = `state-${job.state}`;
    const finished = job.items.done + job.items.failed;
    const pct = job.items.total ? Math.round((100 * finished) / job.items.total) : 0;
    const progress = document.createElement("td");
    progress.innerHTML = '<div class="bar"><span></span></div>';
    progress.querySelector("span").style.width = `${pct}%`;
    progress.title = `${pct}%`;
    tr.append(
      cell(`${job.kind} ${job.id.slice(0, 8)}${job.exportSet ? ` (${job.exportSet})` : ""}`),
      cell(job.paused ? `${job.state} (paused)` : job.state),
      progress,
      cell(`${job.items.done}/${job.items.total}${job.items.failed ? `, ${job.items.failed} failed` : ""}${job.rowErrors ? `, ${job.rowErrors} bad rows` : ""}`, job.items.failed || job.rowErrors ? "failed" : ""),
      cell(`${fmtBytes(job.bytes.done)} / ${fmtBytes(job.bytes.total)}`),
      cell(`${job.throughput.filesPerSecond} files/s, ${fmtBytes(job.throughput.bytesPerSecond)}/s`),
      cell(fmtEta(job.eta)),
      actions(job),
    );
    return tr;
  });
  $("jobs").replaceChildren(...(rows.length ? rows : [Object.assign(document.createElement("tr"), { innerHTML: '<td colspan="8">No jobs yet.</td>' })]));
}

function show(error) {
  $("status").textContent = error.message;
}

async function refresh() {
  try {
    render((await api("/admin/jobs")).jobs);
    $("status").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    show(error);
  }
}

$("login").onsubmit = (event) => {
  event.preventDefault();
  token = $("token").value;
  sessionStorage.setItem("adminToken", token);
  clearInterval(timer);
  refresh();
  timer = setInterval(refresh, 2000);
};

$("start").onsubmit = async (event) => {
  event.preventDefault();
  const body = { kind: $("kind").value };
  if ($("exportSet").value) body.exportSet = $("exportSet").value;
  try {
    const job = await api("/admin/jobs", { method: "POST", body: JSON.stringify(body) });
    $("startResult").textContent = `started ${job.id}`;
    refresh();
  } catch (error) {
    $("startResult").textContent = error.message;
  }
};

if (token) {
  $("token").value = token;
  $("login").requestSubmit();
}
