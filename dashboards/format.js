// How numbers, sizes and times read on the page. Times are UTC, as in the CLI and the logs.

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function fmtBytes(n) {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

export const fmtCount = (n) => Number(n).toLocaleString("en-US");

/** A ratio (0.05) as a percentage ("5 %"). */
export function fmtRatio(ratio, digits = 1) {
  const pct = ratio * 100;
  return `${Number.isInteger(pct) ? pct : pct.toFixed(digits)} %`;
}

export const fmtMs = (ms) => (ms === null || ms === undefined ? "—" : `${fmtCount(Math.round(ms))} ms`);

export function fmtSeconds(s) {
  if (s === null || s === undefined) return "—";
  const whole = Math.round(s);
  if (whole < 90) return `${whole} s`;
  if (whole < 5400) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  if (whole < 172_800) return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
  return `${Math.floor(whole / 86_400)} d ${Math.floor((whole % 86_400) / 3600)} h`;
}

/** "2026-11-25 03:10:00 UTC" from an ISO string or epoch milliseconds. */
export function fmtTime(at) {
  if (at === null || at === undefined) return "—";
  const date = new Date(at);
  if (Number.isNaN(date.getTime())) return String(at);
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC`;
}

/** "03:10:00" (UTC), for chart axes and tooltips. */
export const fmtClock = (at) => new Date(at).toISOString().slice(11, 19);

export const shortId = (id) => String(id).slice(0, 8);

/** A value of an audit entry or a state field, as one line of text. */
export function fmtValue(value) {
  if (value === null || value === undefined) return "none";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
