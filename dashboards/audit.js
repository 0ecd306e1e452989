// The audit log of the cutover (GET /admin/cutover `history`: the latest 20 `cutover.*` entries).
import { $, el } from "./dom.js";
import { fmtClock, fmtTime, fmtValue } from "./format.js";

/** Details shown as changes (from → to) or not at all: the rest is listed as key: value. */
const NOT_LISTED = new Set(["from", "to", "version", "patch"]);

/** The fields an entry changed, as "percent: 0 → 25". */
export function changesOf(entry) {
  const { from = {}, to = {} } = entry.details ?? {};
  return Object.keys(to).map((key) => `${key}: ${fmtValue(from[key])} → ${fmtValue(to[key])}`);
}

/** Entries that changed the cutover state (the charts mark them). */
export const isStateChange = (entry) => changesOf(entry).length > 0;

export function describeEntry(entry) {
  return [`${fmtClock(entry.createdAt)} ${entry.action} by ${entry.actor}`, ...changesOf(entry)].join("\n");
}

function otherDetails(entry) {
  const details = entry.details && typeof entry.details === "object" ? entry.details : {};
  return Object.entries(details)
    .filter(([key]) => !NOT_LISTED.has(key))
    .map(([key, value]) => `${key}: ${fmtValue(value)}`);
}

const lines = (texts) => texts.flatMap((text, i) => (i ? [el("br"), text] : [text]));

/** Cells carry their column's name, which a phone shows beside each value (operator.css, .stacked). */
function row(entry) {
  const changes = changesOf(entry);
  const details = otherDetails(entry);
  return el(
    "tr",
    { "data-action": entry.action },
    el("td", { className: "when", "data-label": "When" }, fmtTime(entry.createdAt)),
    el("td", { "data-label": "Who" }, entry.actor),
    el("td", { className: "action", "data-label": "What" }, entry.action),
    el("td", { className: "change", "data-label": changes.length ? "From → to" : null }, ...lines(changes)),
    el("td", { className: "detail", "data-label": details.length ? "Details" : null }, ...lines(details)),
  );
}

/** The entries on show (their ids), so that an unchanged log is not rebuilt. */
let shown = null;

export function renderAudit(history) {
  const signature = history.map((e) => e.id).join(",");
  if (signature === shown) return;
  shown = signature;
  const rows = history.map(row);
  $("auditRows").replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 5 }, "No cutover changes yet."))]));
}
