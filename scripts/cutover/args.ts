import { readFileSync } from "node:fs";
import { MAX_PREFLIGHT_SAMPLE } from "../../src/preflight/limits.ts";
import { parseFlags, UsageError, workerUrl } from "../lib/worker.ts";

export { UsageError };

export const USAGE = `usage: npm run cutover -- <command> [options] --worker <URL>

  preflight --export-set <set> [--sample <n>]        what a copy of the export set would do (changes nothing),
                                                     checking n files (0 to ${MAX_PREFLIGHT_SAMPLE}) on the legacy origin
  start     --plan <plan.json> | --export-set <set> --steps <p,p,…> --hold <seconds>
            [--max-sync-lag <seconds>] [--watch-seconds <seconds>] [--detach] [--interval <seconds>]
                                                     starts a cutover run, then shows it live while it runs
  status    [--watch] [--interval <seconds>]         the run; --watch refreshes it until it ends (Ctrl-C stops)
  pause     [--reason <text>]
  resume
  skip      --stage <name> --reason <text>           ends the stage in force as skipped
  abort     [--reason <text>]                        ends the run; users go back to legacy

  --worker   the Worker's base URL (or LC_WORKER); https:// (http:// only for localhost, 127.0.0.1, ::1)
  --token    the operator ADMIN_TOKEN; prefer the ADMIN_TOKEN variable: command-line arguments are
             visible to every user of this machine (ps, /proc)
  --json     the Worker's JSON instead of text (with --watch: one line per change)
  --interval seconds between refreshes of a live view (default 2)
  --timeout  seconds allowed for each request (default 120)

exit codes: 0 done, or the run is running, paused or completed; 1 the Worker refused (its error is
printed), or the run ended rolled_back, aborted or failed; 2 bad arguments, or the Worker unreachable`;

export type Command =
  | { name: "preflight"; exportSet: string; sample?: number }
  | { name: "start"; plan: Record<string, unknown>; detach: boolean }
  | { name: "status"; watch: boolean }
  | { name: "pause"; reason?: string }
  | { name: "resume" }
  | { name: "skip"; stage: string; reason: string }
  | { name: "abort"; reason?: string };

export interface Options {
  command: Command;
  worker: URL;
  token: string;
  json: boolean;
  intervalMs: number;
  timeoutMs: number;
}

const OPTIONS = {
  worker: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean" },
  interval: { type: "string" },
  timeout: { type: "string" },
  help: { type: "boolean", short: "h" },
  "export-set": { type: "string" },
  sample: { type: "string" },
  plan: { type: "string" },
  steps: { type: "string" },
  hold: { type: "string" },
  "max-sync-lag": { type: "string" },
  "watch-seconds": { type: "string" },
  detach: { type: "boolean" },
  watch: { type: "boolean" },
  reason: { type: "string" },
  stage: { type: "string" },
} as const;
type Name = keyof typeof OPTIONS;

const COMMON: Name[] = ["worker", "token", "json", "timeout", "help"];
const ALLOWED: Record<Command["name"], Name[]> = {
  preflight: ["export-set", "sample"],
  start: ["plan", "export-set", "steps", "hold", "max-sync-lag", "watch-seconds", "detach", "interval"],
  status: ["watch", "interval"],
  pause: ["reason"],
  resume: [],
  skip: ["stage", "reason"],
  abort: ["reason"],
};
const isCommand = (name: string): name is Command["name"] => Object.hasOwn(ALLOWED, name);

/** Reads the command line (LC_WORKER and ADMIN_TOKEN as fallbacks); throws UsageError. */
export function readOptions(argv: string[], env: NodeJS.ProcessEnv): Options | "help" {
  const parsed = parseFlags(argv, OPTIONS, true);
  const values = parsed.values as Partial<Record<Name, string | boolean>>;
  if (values.help) return "help";
  const [name, ...extra] = parsed.positionals;
  if (name === undefined) throw new UsageError("a command is required");
  if (!isCommand(name)) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  for (const key of Object.keys(values) as Name[]) {
    if (!COMMON.includes(key) && !ALLOWED[name].includes(key)) throw new UsageError(`--${key} does not apply to ${name}`);
  }
  const text = (key: Name): string | undefined => {
    const value = values[key];
    if (typeof value !== "string") return undefined;
    if (value.trim() === "") throw new UsageError(`--${key} must not be empty`);
    return value.trim();
  };
  const required = (key: Name, why = `${name} needs --${key}`): string => text(key) ?? fail(why);

  const command = readCommand(name, text, required, values);
  const workerText = text("worker") ?? env.LC_WORKER?.trim();
  if (!workerText) throw new UsageError("--worker (or LC_WORKER) is required");
  const token = text("token") ?? env.ADMIN_TOKEN?.trim();
  if (!token) throw new UsageError("--token (or, better, ADMIN_TOKEN) is required");
  const interval = text("interval");
  const timeout = text("timeout");
  return {
    command,
    worker: workerUrl(workerText),
    token,
    json: values.json === true,
    intervalMs: interval === undefined ? 2_000 : Math.round(bounded("interval", interval, 0.5, 3_600, { fraction: true }) * 1000),
    timeoutMs: timeout === undefined ? 120_000 : bounded("timeout", timeout, 1, 3_600) * 1000,
  };
}

function readCommand(
  name: Command["name"],
  text: (key: Name) => string | undefined,
  required: (key: Name, why?: string) => string,
  values: Partial<Record<Name, string | boolean>>,
): Command {
  switch (name) {
    case "preflight": {
      const sample = text("sample");
      return { name, exportSet: required("export-set"), ...(sample === undefined ? {} : { sample: bounded("sample", sample, 0, MAX_PREFLIGHT_SAMPLE, { of: "" }) }) };
    }
    case "start":
      return { name, plan: readPlan(text), detach: values.detach === true };
    case "status":
      return { name, watch: values.watch === true };
    case "pause":
    case "abort": {
      const reason = text("reason");
      return reason === undefined ? { name } : { name, reason };
    }
    case "resume":
      return { name };
    case "skip":
      return { name, stage: required("stage"), reason: required("reason", "skip needs --reason: it is kept in the audit log") };
  }
}

const PLAN_FLAGS: Name[] = ["export-set", "steps", "hold", "max-sync-lag", "watch-seconds"];

/** The plan: a file as POST /admin/cutover/run takes it, or built from flags (the Worker checks the rest). */
function readPlan(text: (key: Name) => string | undefined): Record<string, unknown> {
  const file = text("plan");
  if (file !== undefined) {
    const mixed = PLAN_FLAGS.find((key) => text(key) !== undefined);
    if (mixed) throw new UsageError(`--plan and --${mixed} do not go together: put everything in the plan file`);
    let plan: unknown;
    try {
      plan = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      throw new UsageError(`--plan ${file}: ${(error as Error).message}`);
    }
    if (typeof plan !== "object" || plan === null || Array.isArray(plan)) throw new UsageError(`--plan ${file} must hold a JSON object`);
    return plan as Record<string, unknown>;
  }
  const why = "start needs --plan <file>, or --export-set, --steps and --hold";
  const exportSet = text("export-set") ?? fail(why);
  const stepsText = text("steps") ?? fail(why);
  const steps = stepsText.split(",").map((s) => s.trim());
  if (!steps.every((s) => /^\d{1,3}(\.\d{1,2})?$/.test(s))) throw new UsageError(`--steps must be percentages separated by commas, like 5,25,50 (not ${JSON.stringify(stepsText)})`);
  const hold = bounded("hold", text("hold") ?? fail(why), 1, 86_400);
  const lag = text("max-sync-lag");
  const watch = text("watch-seconds");
  return {
    exportSet,
    canary: { steps: steps.map(Number), holdSeconds: hold, ...(lag === undefined ? {} : { maxSyncLagSeconds: bounded("max-sync-lag", lag, 1, 30 * 86_400) }) },
    ...(watch === undefined ? {} : { watchSeconds: bounded("watch-seconds", watch, 1, 30 * 86_400) }),
  };
}

function bounded(key: string, value: string, min: number, max: number, { fraction = false, of = " of seconds" } = {}): number {
  const n = Number(value);
  if (!(fraction ? /^\d+(\.\d+)?$/ : /^\d+$/).test(value) || n < min || n > max) throw new UsageError(`--${key} must be a ${fraction ? "" : "whole "}number${of} from ${min} to ${max}`);
  return n;
}

function fail(message: string): never {
  throw new UsageError(message);
}
