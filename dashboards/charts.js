// Time-series line charts drawn as SVG through DOM calls (no library).
import { svg } from "./dom.js";
import { fmtClock } from "./format.js";

const WIDTH = 320;
const HEIGHT = 150;
const PLOT = { left: 52, right: WIDTH - 8, top: 12, bottom: HEIGHT - 20 };

/** The smallest of 1, 2, 2.5, 5 × a power of ten at or above `x`. */
function niceCeil(x) {
  if (!(x > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(x));
  return [1, 2, 2.5, 5, 10].map((m) => m * power).find((v) => v >= x);
}

/** Runs of consecutive points with a value (null means "no data": the line breaks there). */
function segments(points) {
  const runs = [[]];
  for (const p of points) {
    if (p.v === null || p.v === undefined) runs.push([]);
    else runs.at(-1).push(p);
  }
  return runs.filter((run) => run.length > 0);
}

/**
 * A chart of `series` ([{ name, className, points: [{ t, v }] }], t in ms) over [from, to], with an
 * optional `threshold` ({ value, label }) drawn as a line and `markers` ([{ t, label }]) as vertical
 * lines. The y axis reaches at least `floor`. `label` describes the chart to assistive technology.
 */
export function lineChart({ label, series, from, to, format, floor, threshold = null, markers = [] }) {
  const values = series.flatMap((s) => s.points.map((p) => p.v)).filter((v) => v !== null && v !== undefined);
  const yMax = niceCeil(Math.max(...values, threshold?.value ?? 0, floor) * 1.1);
  const x = (t) => PLOT.left + ((t - from) / Math.max(1, to - from)) * (PLOT.right - PLOT.left);
  const y = (v) => PLOT.bottom - (v / yMax) * (PLOT.bottom - PLOT.top);
  return svg(
    "svg",
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": label, class: "chart" },
    axes(yMax, y, format, from, to),
    markers.filter((m) => m.t >= from && m.t <= to).map((m) => marker(x(m.t), m.label)),
    threshold ? thresholdLine(y(threshold.value), threshold.label) : null,
    series.map((s) => seriesShapes(s, x, y)),
    values.length ? null : svg("text", { x: (PLOT.left + PLOT.right) / 2, y: (PLOT.top + PLOT.bottom) / 2, "text-anchor": "middle", class: "empty" }, "no requests in the window"),
  );
}

function axes(yMax, y, format, from, to) {
  const ticks = [0, yMax / 2, yMax];
  return svg(
    "g",
    { class: "axes" },
    ticks.map((v) => [svg("line", { x1: PLOT.left, x2: PLOT.right, y1: y(v), y2: y(v), class: "grid" }), svg("text", { x: PLOT.left - 4, y: y(v) + 3, "text-anchor": "end" }, format(v))]),
    svg("text", { x: PLOT.left, y: HEIGHT - 6 }, fmtClock(from)),
    svg("text", { x: PLOT.right, y: HEIGHT - 6, "text-anchor": "end" }, `${fmtClock(to)} UTC`),
  );
}

function marker(at, text) {
  return svg("line", { x1: at, x2: at, y1: PLOT.top, y2: PLOT.bottom, class: "marker" }, svg("title", {}, text));
}

function thresholdLine(at, text) {
  return svg(
    "g",
    { class: "threshold" },
    svg("line", { x1: PLOT.left, x2: PLOT.right, y1: at, y2: at }),
    svg("text", { x: PLOT.right - 2, y: at - 3, "text-anchor": "end" }, text),
  );
}

function seriesShapes(s, x, y) {
  return svg(
    "g",
    { class: `series ${s.className}` },
    segments(s.points).map((run) =>
      run.length === 1 ? svg("circle", { cx: x(run[0].t), cy: y(run[0].v), r: 2 }) : svg("polyline", { points: run.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ") }),
    ),
  );
}
