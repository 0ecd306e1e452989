// Requests/s, 5xx rate and latency per backend: the coordinator's series over the chosen window
// (GET /admin/metrics/series, kept an hour), captioned with the window's totals (GET /admin/metrics).
import { describeEntry, isStateChange } from "./audit.js";
import { lineChart } from "./charts.js";
import { $, el, setText } from "./dom.js";
import { fmtMs, fmtRatio } from "./format.js";

const BACKENDS = [
  { key: "workers", name: "new app", className: "workers" },
  { key: "legacy", name: "legacy", className: "legacy" },
];

/** Requests per second: a quiet backend's rate over a long window is small, and still not zero. */
function fmtRate(v) {
  if (v === 0 || v >= 10) return v.toFixed(0);
  return v < 1 ? v.toPrecision(2) : v.toFixed(1);
}

/** `floor`: the least the y axis shows, so that an idle backend's axis still reads sensibly. */
const METRICS = [
  { title: "Requests per second", value: (b, seconds) => b.requests / seconds, format: fmtRate, floor: 1, threshold: null },
  { title: "5xx rate", value: (b) => (b.requests ? b.errors / b.requests : null), format: (v) => fmtRatio(v, 2), floor: 0.01, threshold: (t) => t.errorRate },
  { title: "p50 latency", value: (b) => b.p50Ms, format: fmtMs, floor: 10, threshold: null },
  { title: "p95 latency", value: (b) => b.p95Ms, format: fmtMs, floor: 10, threshold: (t) => t.p95Ms },
];

const windowSelect = $("window");
const figures = METRICS.map(createFigure);
$("charts").append(...figures.map((f) => f.node));

export const windowSeconds = () => Number(windowSelect.value);

export function onWindowChange(refresh) {
  windowSelect.addEventListener("change", () => refresh());
}

/** What one poll reads for this section. */
export async function readTraffic(api) {
  const window = windowSeconds();
  const [totals, series] = await Promise.all([api(`/admin/metrics?window=${window}`), api(`/admin/metrics/series?window=${window}`)]);
  return { totals, series };
}

function createFigure(metric) {
  const caption = el("figcaption", {}, el("span", { className: "title" }, metric.title), " ");
  const latest = el("span", { className: "latest" });
  caption.append(latest);
  const holder = el("div", { className: "plot" });
  return { metric, latest, holder, node: el("figure", { className: "metric" }, caption, holder) };
}

/** One poll's answer: every chart drawn from the series, captioned with the window's totals. */
export function renderTraffic({ totals, series }, cutover) {
  const step = series.stepSeconds;
  const points = series.backends.workers;
  const from = points[0].t;
  const to = points.at(-1).t + step * 1000;
  const markers = (cutover?.history ?? []).filter(isStateChange).map((entry) => ({ t: Date.parse(entry.createdAt), label: describeEntry(entry) })).filter((m) => m.t >= from);
  for (const figure of figures) drawFigure(figure, { series, totals, from, to, markers, thresholds: cutover?.thresholds ?? null });
  setText($("trafficSamples"), `${points.length} points of ${step} s each over the last ${fmtWindow(series.windowSeconds)}, to ${new Date(to).toISOString().slice(11, 19)} UTC`);
}

function fmtWindow(seconds) {
  return seconds % 3600 === 0 ? `${seconds / 3600} h` : seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`;
}

function drawFigure({ metric, latest, holder }, { series, totals, from, to, markers, thresholds }) {
  const lines = BACKENDS.map((b) => ({ ...b, points: series.backends[b.key].map((p) => ({ t: p.t + (series.stepSeconds * 1000) / 2, v: metric.value(p, series.stepSeconds) })) }));
  const last = BACKENDS.map((b) => `${b.name} ${formatOrDash(metric, metric.value(totals.backends[b.key], totals.windowSeconds))}`).join(" · ");
  setText(latest, `over the window: ${last}`);
  const limit = metric.threshold && thresholds ? metric.threshold(thresholds) : null;
  const threshold = limit === null ? null : { value: limit, label: `rollback above ${metric.format(limit)} (new app)` };
  const label = `${metric.title} over the window, ${last}${threshold ? `; ${threshold.label}` : ""}`;
  holder.replaceChildren(lineChart({ label, series: lines, from, to, format: metric.format, floor: metric.floor, threshold, markers }));
}

function formatOrDash(metric, value) {
  return value === null || value === undefined ? "—" : metric.format(value);
}
