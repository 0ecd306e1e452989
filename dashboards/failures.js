// A job's failures (GET /admin/jobs/:id/failures): bad export rows, failed items and conflicts.
import { api, apiCsv } from "./api.js";
import { el, isEnabled, setEnabled, setText } from "./dom.js";
import { fmtCount } from "./format.js";

const PAGE_SIZE = 25;
/** The API's largest page, for the CSV. */
const CSV_PAGE = 10_000;

export const failureCount = (job) => job.items.failed + job.rowErrors + job.conflicts.total;

function where(f) {
  if (f.kind === "row") return `${f.table} line ${f.line}`;
  if (f.kind === "conflict") return `conflict #${f.conflictId}`;
  return f.fileId ?? "";
}

const HEADINGS = ["Kind", "Reason", "Legacy path", "Where", "Detail", "Attempts"];

function failureRow(f) {
  const cells = [f.kind, f.reason, f.source ?? "", where(f), f.detail ?? "", String(f.attempts)];
  return el("tr", {}, ...cells.map((text, i) => el("td", { "data-label": HEADINGS[i] }, text)));
}

/** Every page of the CSV, one header: the file the API would give if it had no page limit. */
async function allFailuresCsv(jobId) {
  const parts = [];
  for (let offset = 0; ; offset += CSV_PAGE) {
    const text = await apiCsv(`/admin/jobs/${jobId}/failures?limit=${CSV_PAGE}&offset=${offset}`);
    const rows = text.slice(text.indexOf("\n") + 1);
    if (offset === 0) parts.push(text);
    else if (rows) parts.push(rows);
    if (!rows) return parts;
  }
}

/** Downloads through a Blob URL: the request needs the token, so a plain link could not carry it. */
function saveFile(parts, name) {
  const url = URL.createObjectURL(new Blob(parts, { type: "text/csv" }));
  const link = el("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function failuresPanel(jobId) {
  let page = 0;
  /** The first page's counts (only it carries them): the filter's choices and the total of the filter in force. */
  let counted = { total: 0, byReason: {} };
  let loadedAt = -1;
  let count = 0;
  let loading = false;
  let again = false;

  const turn = (to) => {
    page = to;
    load();
  };
  const summary = el("summary");
  const reason = el("select", { onchange: () => turn(0) }, el("option", { value: "" }, "all reasons"));
  const prev = el("button", { type: "button", onclick: () => isEnabled(prev) && turn(page - 1) }, "Previous page");
  const next = el("button", { type: "button", onclick: () => isEnabled(next) && turn(page + 1) }, "Next page");
  const position = el("span", { className: "position" });
  const status = el("span", { role: "status", className: "result" });
  const csv = el("button", { type: "button", onclick: () => download() }, "Download CSV");
  const rows = el("tbody");
  const table = el("table", { className: "stacked" }, el("thead", {}, el("tr", {}, ...HEADINGS.map((h) => el("th", { scope: "col" }, h)))), rows);
  const node = el(
    "details",
    { className: "failures", ontoggle: () => node.open && load() },
    summary,
    el("div", { className: "toolbar" }, el("label", {}, "Reason ", reason), prev, position, next, csv, status),
    el("div", { className: "scroll" }, table),
  );

  /** One page from the API, filtered there; a call made while one is under way runs after it. */
  async function load() {
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    try {
      const wanted = count;
      const filter = reason.value ? `&reason=${encodeURIComponent(reason.value)}` : "";
      // The counts come with the first page: read it first when they may have changed.
      if (page === 0 || wanted !== loadedAt) {
        const first = await api(`/admin/jobs/${jobId}/failures?limit=${PAGE_SIZE}&offset=0${filter}`);
        counted = { total: first.total, byReason: first.byReason };
        setReasons(first.byReason);
        if (page === 0) {
          loadedAt = wanted;
          return draw(first);
        }
      }
      const answer = await api(`/admin/jobs/${jobId}/failures?limit=${PAGE_SIZE}&offset=${page * PAGE_SIZE}${filter}`);
      loadedAt = wanted;
      draw(answer);
    } catch (error) {
      setText(status, `Could not load the failures: ${error.message}`);
    } finally {
      loading = false;
    }
    if (again) {
      again = false;
      load();
    }
  }

  function setReasons(byReason) {
    const reasons = Object.keys(byReason).sort();
    const chosen = reason.value;
    const labels = reasons.map((r) => `${r} (${fmtCount(byReason[r])})`);
    if ([...reason.options].slice(1).map((o) => o.textContent).join() === labels.join()) return;
    reason.replaceChildren(el("option", { value: "" }, "all reasons"), ...reasons.map((r, i) => el("option", { value: r }, labels[i])));
    reason.value = reasons.includes(chosen) ? chosen : "";
  }

  function draw({ failures, reason: filtered }) {
    const { total } = counted;
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    if (page > pages - 1) return turn(pages - 1);
    rows.replaceChildren(...failures.map(failureRow));
    setEnabled(prev, page > 0);
    setEnabled(next, page < pages - 1);
    const range = failures.length ? `${fmtCount(page * PAGE_SIZE + 1)}–${fmtCount(page * PAGE_SIZE + failures.length)}` : "none";
    setText(position, `${range} of ${fmtCount(total)}${filtered ? ` (${filtered})` : ""}`);
  }

  async function download() {
    setText(status, "Preparing the CSV…");
    try {
      saveFile(await allFailuresCsv(jobId), `job-${jobId}-failures.csv`);
      setText(status, "CSV downloaded");
    } catch (error) {
      setText(status, `CSV failed: ${error.message}`);
    }
  }

  return {
    node,
    update(job) {
      count = failureCount(job);
      setText(summary, `Failures (${fmtCount(count)})`);
      node.hidden = count === 0;
      if (node.open && count !== loadedAt) load();
    },
  };
}
