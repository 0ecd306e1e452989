import { statSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";

export const USAGE = `usage: npm run reverse-sync -- --worker <URL> --token <ADMIN_TOKEN> --database-url <postgres URL> --media-root <dir> [--job <id>] [--dry-run] [--timeout <seconds>]

Applies a reverse-sync bundle (the new app's writes) to the legacy PostgreSQL and media directory.
  --worker        the Worker's base URL, e.g. https://list-cutter.example.com
  --token         the operator ADMIN_TOKEN (or set ADMIN_TOKEN)
  --database-url  the legacy database, postgres://user:pass@host:5432/db (or set DATABASE_URL)
  --media-root    the legacy MEDIA_ROOT directory on this machine
  --job           the reverse job to apply (default: the newest completed one)
  --dry-run       list what would change, change nothing
  --timeout       seconds allowed for each HTTP request, body included (default 120)`;

export interface Options {
  worker: URL;
  token: string;
  databaseUrl: string;
  mediaRoot: string;
  jobId: string | null;
  dryRun: boolean;
  timeoutMs: number;
}

export class UsageError extends Error {}

const JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Reads the command line (and ADMIN_TOKEN / DATABASE_URL as fallbacks); throws UsageError. */
export function readOptions(argv: string[], env: NodeJS.ProcessEnv): Options | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        worker: { type: "string" },
        token: { type: "string" },
        "database-url": { type: "string" },
        "media-root": { type: "string" },
        job: { type: "string" },
        "dry-run": { type: "boolean", default: false },
        timeout: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    }).values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.help) return "help";

  const required = (name: string, value: string | undefined): string => {
    if (value === undefined || value.trim() === "") throw new UsageError(`--${name} is required`);
    return value.trim();
  };
  const workerText = required("worker", parsed.worker);
  let worker: URL;
  try {
    worker = new URL(workerText);
  } catch {
    throw new UsageError(`--worker must be a URL, not ${JSON.stringify(workerText)}`);
  }
  if (worker.protocol !== "https:" && worker.protocol !== "http:") throw new UsageError("--worker must be an http(s) URL");

  const databaseUrl = required("database-url", parsed["database-url"] ?? env.DATABASE_URL);
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) throw new UsageError("--database-url must be a postgres:// or postgresql:// URL");

  const mediaRoot = resolve(required("media-root", parsed["media-root"]));
  if (!statSync(mediaRoot, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--media-root ${mediaRoot} is not a directory`);
  if (parsed.job !== undefined && !JOB_ID.test(parsed.job)) throw new UsageError(`--job must be a job id, not ${JSON.stringify(parsed.job)}`);

  let timeoutMs = 120_000;
  if (parsed.timeout !== undefined) {
    const seconds = Number(parsed.timeout);
    if (!/^\d+$/.test(parsed.timeout) || seconds < 1 || seconds > 3600) throw new UsageError("--timeout must be a whole number of seconds from 1 to 3600");
    timeoutMs = seconds * 1000;
  }

  return {
    worker,
    token: required("token", parsed.token ?? env.ADMIN_TOKEN),
    databaseUrl,
    mediaRoot,
    jobId: parsed.job ?? null,
    dryRun: parsed["dry-run"],
    timeoutMs,
  };
}
