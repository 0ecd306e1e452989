// ADMIN_TOKEN=… npm run validate -- --worker <URL> [--sample N] [--export-set S] [--out report.json] [--timeout <s>]
// (--token exists too, but arguments are visible to everyone in `ps`.)
//
// Runs the validation suite on the Worker (POST /admin/validate: authentication, files, processing
// and integrity checks against the new app, src/validation/) and reports it: a line per check on
// stderr, the JSON report on stdout (or in --out). The suite registers a canary account
// (lc-validate-<time>-<hex>), which stays; see README "Validation suite".
// Exit codes: 0 every check passed; 1 a check failed; 2 bad arguments, or the Worker could not be
// reached or did not answer a report.
import { writeFileSync } from "node:fs";
import { DEFAULT_SAMPLE, MAX_SAMPLE, validationReportSchema, type ValidationReport } from "../src/validation/report.ts";
import { printable, printableDeep } from "./lib/printable.ts";
import { describeFetchError, endpoint, optionsOrExit, parseFlags, readAtMost, UsageError, workerUrl } from "./lib/worker.ts";

const USAGE = `usage: npm run validate -- --worker <URL> [--token <ADMIN_TOKEN>] [--sample N] [--export-set S] [--out <file>] [--timeout <seconds>]

Runs the validation suite on the Worker and prints its report (JSON on stdout, or into --out).
  --worker      the Worker's base URL (or LC_WORKER); https:// (http:// only for localhost, 127.0.0.1, ::1)
  --token       the operator ADMIN_TOKEN (prefer the ADMIN_TOKEN variable: arguments show in ps)
  --sample      migrated users and files to sample, 1 to ${MAX_SAMPLE} (default ${DEFAULT_SAMPLE})
  --export-set  the export set D1 is checked against (default: the one of the last sync)
  --out         write the JSON report to this file instead of stdout
  --timeout     seconds to wait for the report (default 900)
Exit codes: 0 every check passed, 1 a check failed, 2 usage error or no report from the Worker.`;

/** The Worker's own rule for export set names (src/coordinator/model.ts). */
const EXPORT_SET = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Largest answer read: a report is a few KiB at most. */
const MAX_ANSWER_BYTES = 1024 * 1024;

interface Options {
  worker: URL;
  token: string;
  sample: number;
  exportSet: string | null;
  out: string | null;
  timeoutMs: number;
}

/** No report from the Worker: unreachable, an error status, or an answer that is not a report. */
class NoReport extends Error {}

function readOptions(argv: string[], env: NodeJS.ProcessEnv): Options | "help" {
  const { values } = parseFlags(argv, {
    worker: { type: "string" },
    token: { type: "string" },
    sample: { type: "string" },
    "export-set": { type: "string" },
    out: { type: "string" },
    timeout: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  });
  if (values.help) return "help";
  const workerText = (values.worker ?? env.LC_WORKER)?.trim();
  if (!workerText) throw new UsageError("--worker (or LC_WORKER) is required");
  const worker = workerUrl(workerText);
  const token = (values.token ?? env.ADMIN_TOKEN ?? "").trim();
  if (!token) throw new UsageError("--token (or the ADMIN_TOKEN variable) is required");
  const sample = values.sample === undefined ? DEFAULT_SAMPLE : Number(values.sample);
  if (!/^\d+$/.test(values.sample ?? "1") || sample < 1 || sample > MAX_SAMPLE) throw new UsageError(`--sample must be a whole number from 1 to ${MAX_SAMPLE}`);
  const exportSet = values["export-set"] ?? null;
  if (exportSet !== null && !EXPORT_SET.test(exportSet)) throw new UsageError("--export-set must be letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)");
  let timeoutMs = 900_000;
  if (values.timeout !== undefined) {
    const seconds = Number(values.timeout);
    if (!/^\d+$/.test(values.timeout) || seconds < 1 || seconds > 3600) throw new UsageError("--timeout must be a whole number of seconds from 1 to 3600");
    timeoutMs = seconds * 1000;
  }
  return { worker, token, sample, exportSet, out: values.out ?? null, timeoutMs };
}

async function requestReport(options: Options): Promise<ValidationReport> {
  const url = endpoint(options.worker, "/admin/validate");
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      redirect: "error",
      signal: AbortSignal.timeout(options.timeoutMs),
      headers: { authorization: `Bearer ${options.token}`, "content-type": "application/json" },
      body: JSON.stringify({ sample: options.sample, ...(options.exportSet === null ? {} : { exportSet: options.exportSet }) }),
    });
  } catch (error) {
    throw new NoReport(`POST ${url.href}: ${describeFetchError(error, options.timeoutMs)}`);
  }
  const { bytes, complete } = await readAtMost(res, MAX_ANSWER_BYTES).catch((error: unknown) => {
    throw new NoReport(`POST ${url.href}: ${describeFetchError(error, options.timeoutMs)}`);
  });
  const text = new TextDecoder().decode(bytes);
  if (res.status !== 200) throw new NoReport(`POST ${url.href}: HTTP ${res.status} ${text.slice(0, 300)}`);
  if (!complete) throw new NoReport(`POST ${url.href}: the answer is larger than ${MAX_ANSWER_BYTES} bytes`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new NoReport(`POST ${url.href}: the answer is not JSON`);
  }
  const report = validationReportSchema.safeParse(body);
  if (!report.success) throw new NoReport(`POST ${url.href}: the answer is not a validation report (${report.error.issues[0]?.path.join(".")}: ${report.error.issues[0]?.message})`);
  return report.data;
}

/** A line per check; details and failures can quote export rows, so they are made printable. */
function summary(fromWorker: ValidationReport): string {
  const report = printableDeep(fromWorker);
  const lines = report.checks.flatMap((c) => [
    `${c.ok ? "✔" : "✖"} ${`${c.group}/${c.name}`.padEnd(32)} ${String(c.ms).padStart(6)} ms  ${c.detail}`,
    ...(c.failures ?? []).map((f) => `    - ${f}`),
  ]);
  const failed = report.checks.filter((c) => !c.ok).length;
  const outcome = failed === 0 ? "validation passed" : `validation failed: ${failed} of ${report.checks.length} checks`;
  lines.push(`summary: ${outcome} (sample ${report.sample}, export set ${report.exportSet ?? "none"}, ${(report.durationMs / 1000).toFixed(1)} s)`);
  return lines.join("\n");
}

const options = optionsOrExit(() => readOptions(process.argv.slice(2), process.env), USAGE);
try {
  const report = await requestReport(options);
  console.error(summary(report));
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (options.out) writeFileSync(options.out, json);
  else process.stdout.write(json);
  process.exitCode = report.ok ? 0 : 1;
} catch (error) {
  if (!(error instanceof NoReport)) throw error;
  console.error(`✖ no report: ${printable(error.message)}`);
  process.exitCode = 2;
}
