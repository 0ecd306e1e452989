// Requests/s, 5xx rate and latency per backend. GET /admin/metrics only gives totals over a trailing
// window, so the series is built here from the samples this page polled (the page says so).
import { describeEntry, isStateChange } from "./audit.js";
import { lineChart } from "./charts.js";
import { $, el, setText } from "./dom.js";
import { fmtMs, fmtRatio } from "./format.js";

const BACKENDS = [
  { key: "workers", name: "new app", className: "workers" },
  { key: "legacy", name: "legacy", className: "legacy" },
];

/** The charts show up to this much of the page's samples (or the window, if longer)… */
const MAX_SPAN_MS = 5 * 60_000;
/** …and at least this much, while the page has seen less. */
const MIN_SPAN_MS = 20_000;

/** Requests per second: a quiet backend's rate over a long window is small, and still not zero. */
function fmtRate(v) {
  if (v === 0 || v >= 10) return v.toFixed(0);
  return v < 1 ? v.toPrecision(2) : v.toFixed(1);
}

/** `floor`: the least the y axis shows, so that an idle backend's axis still reads sensibly. */
const METRICS = [
  { title: "Requests per second", value: (b, windowSeconds) => b.requests / windowSeconds, format: fmtRate, floor: 1, threshold: null },
  { title: "5xx rate", value: (b) => (b.requests ? b.errorRate : null), format: (v) => fmtRatio(v, 2), floor: 0.01, threshold: (t) => t.errorRate },
  { title: "p50 latency", value: (b) => b.p50Ms, format: fmtMs, floor: 10, threshold: null },
  { title: "p95 latency", value: (b) => b.p95Ms, format: fmtMs, floor: 10, threshold: (t) => t.p95Ms },
];

const windowSelect = $("window");
let samples = [];
const figures = METRICS.map(createFigure);
$("charts").append(...figures.map((f) => f.node));

export const windowSeconds = () => Number(windowSelect.value);

/** A new window makes earlier samples incomparable: the series starts again. */
export function onWindowChange(refresh) {
  windowSelect.addEventListener("change", () => {
    samples = [];
    refresh();
  });
}

function createFigure(metric) {
  const caption = el("figcaption", {}, el("span", { className: "title" }, metric.title), " ");
  const latest = el("span", { className: "latest" });
  caption.append(latest);
  const holder = el("div", { className: "plot" });
  return { metric, latest, holder, node: el("figure", { className: "metric" }, caption, holder) };
}

/** One poll's answer: kept as a sample, then every chart redrawn from the samples. */
export function renderTraffic(metrics, cutover) {
  const now = Date.now();
  const span = Math.max(MAX_SPAN_MS, metrics.windowSeconds * 1000);
  samples.push({ t: now, windowSeconds: metrics.windowSeconds, backends: metrics.backends });
  samples = samples.filter((s) => s.t >= now - span && s.windowSeconds === metrics.windowSeconds);
  const from = Math.min(now - MIN_SPAN_MS, samples[0].t);
  const markers = (cutover?.history ?? []).filter(isStateChange).map((entry) => ({ t: Date.parse(entry.createdAt), label: describeEntry(entry) }));
  for (const figure of figures) drawFigure(figure, { from, to: now, markers, thresholds: cutover?.thresholds ?? null });
  setText($("trafficSamples"), `${samples.length} sample${samples.length === 1 ? "" : "s"} of totals over ${metrics.windowSeconds} s, polled since ${new Date(samples[0].t).toISOString().slice(11, 19)} UTC`);
}

function drawFigure({ metric, latest, holder }, { from, to, markers, thresholds }) {
  const series = BACKENDS.map((b) => ({ ...b, points: samples.map((s) => ({ t: s.t, v: metric.value(s.backends[b.key], s.windowSeconds) })) }));
  const last = series.map((s) => `${s.name} ${formatOrDash(metric, s.points.at(-1)?.v)}`).join(" · ");
  setText(latest, last);
  const limit = metric.threshold && thresholds ? metric.threshold(thresholds) : null;
  const threshold = limit === null ? null : { value: limit, label: `rollback above ${metric.format(limit)} (new app)` };
  const label = `${metric.title}, ${last}${threshold ? `; ${threshold.label}` : ""}`;
  holder.replaceChildren(lineChart({ label, series, from, to, format: metric.format, floor: metric.floor, threshold, markers }));
}

function formatOrDash(metric, value) {
  return value === null || value === undefined ? "—" : metric.format(value);
}
