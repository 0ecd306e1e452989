// A preflight report (POST /admin/cutover/preflight, src/preflight/run.ts) as text. The report grows
// as the preflight learns new checks, so it is read generically: each top-level section is one line
// of its numbers, formatted by their names (…bytes…, …seconds, …Ms), and only the parts whose shape
// is known (problems, the sample's answers, the estimate) get lines of their own. Every string of
// the report is made printable first: problems and sampled paths are text from export rows.
import { printableDeep } from "../lib/printable.ts";
import { bytes, count, decimal, duration, paint, time, words } from "./format.ts";

type Obj = Record<string, unknown>;

/** Sections where a zero says nothing: only their non-zero counts are shown. */
const NONZERO_ONLY = new Set(["refused", "conflicts"]);
/** Shown in the header or a line of their own. */
const OWN_LINES = new Set(["exportSet", "exportedAt", "durationMs", "problems", "jobWouldFail", "truncated", "estimate"]);
const LABEL_WIDTH = 10;
const LISTED = 20;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export function renderPreflight(fromWorker: unknown, now: number, { color }: { color: boolean }): string {
  const report = printableDeep(fromWorker);
  if (!isObj(report)) return JSON.stringify(report, null, 2);
  const p = paint(color);
  const lines: string[] = [];
  const exported = typeof report.exportedAt === "string" ? ` (exported ${time(report.exportedAt, now)} UTC)` : "";
  const took = typeof report.durationMs === "number" ? ` in ${decimal(report.durationMs / 1000)} s` : "";
  lines.push(p.bold(`Preflight of export set ${String(report.exportSet ?? "?")}${exported}${took}`));
  const field = (label: string, text: string) => lines.push(`  ${label.padEnd(LABEL_WIDTH)} ${text}`);

  for (const [key, value] of Object.entries(report)) {
    if (OWN_LINES.has(key)) continue;
    if (typeof value === "number") field(words(key), number(key, value));
    else if (typeof value === "string") field(words(key), value);
    else if (isObj(value)) field(words(key), numbers(value, NONZERO_ONLY.has(key)).join(" · ") || "none");
  }
  const estimate = report.estimate;
  if (isObj(estimate) && typeof estimate.seconds === "number") {
    const rate = typeof estimate.filesPerSecond === "number" && typeof estimate.bytesPerSecond === "number" ? ` at ${decimal(estimate.filesPerSecond)} files/s and ${bytes(estimate.bytesPerSecond)}/s` : "";
    const of = typeof estimate.bytes === "number" ? ` for ${bytes(estimate.bytes)}` : "";
    field("estimate", `about ${duration(estimate.seconds)}${of}${rate}${typeof estimate.basis === "string" ? ` (${estimate.basis})` : ""}`);
  } else if (isObj(estimate)) field("estimate", numbers(estimate, false).join(" · "));

  const fails = report.jobWouldFail;
  if (isObj(fails)) lines.push(p.bold(p.red(`‼ a job on this export would fail: ${String(fails.table ?? "?")}.csv: ${String(fails.error ?? "")}`)));
  const truncated = report.truncated;
  if (isObj(truncated)) lines.push(p.yellow(`‼ incomplete: ${String(truncated.reason ?? "")}`));

  const sampleItems = isObj(report.sample) && Array.isArray(report.sample.items) ? report.sample.items.filter((i): i is Obj => isObj(i) && i.outcome !== "ok") : [];
  const problems = Array.isArray(report.problems) ? report.problems.filter(isObj) : [];
  if (problems.length > 0 || sampleItems.length > 0) lines.push("", p.bold("Problems"));
  for (const problem of problems.slice(0, LISTED)) lines.push(`  ${String(problem.table)}.csv line ${String(problem.line)}  ${p.yellow(String(problem.reason))}  ${String(problem.detail ?? "")}`);
  if (problems.length > LISTED) lines.push(`  … ${problems.length - LISTED} more listed (--json shows them)`);
  for (const item of sampleItems.slice(0, LISTED)) {
    const answer = item.status === null ? String(item.error ?? "no answer") : `HTTP ${String(item.status)}${item.error ? ` ${String(item.error)}` : ""}`;
    lines.push(`  sample: files.csv line ${String(item.line)} ${String(item.path ?? item.fileId)}  ${p.yellow(String(item.outcome))}  ${answer}`);
  }
  if (sampleItems.length > LISTED) lines.push(`  … ${sampleItems.length - LISTED} more sampled files did not answer as expected (--json shows them)`);
  return lines.join("\n");
}

/** A section's numbers, nested objects in parentheses: "bad rows (files 2)". */
function numbers(section: Obj, nonzeroOnly: boolean): string[] {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(section)) {
    if (typeof value === "number" && !(nonzeroOnly && value === 0)) parts.push(`${words(key)} ${number(key, value)}`);
    else if (isObj(value)) {
      const inner = numbers(value, nonzeroOnly);
      if (inner.length > 0) parts.push(`${words(key)} (${inner.join(", ")})`);
    }
  }
  return parts;
}

function number(key: string, value: number): string {
  if (/bytesPerSecond$/i.test(key)) return `${bytes(value)}/s`;
  if (/perSecond$/i.test(key)) return `${decimal(value)}/s`;
  if (/bytes/i.test(key)) return bytes(value);
  if (/seconds$/i.test(key)) return duration(value);
  if (/Ms$/.test(key)) return `${count(value)} ms`;
  return Number.isInteger(value) ? count(value) : decimal(value);
}
