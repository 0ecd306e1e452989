import { statSync } from "node:fs";
import { resolve } from "node:path";
import { parseFlags, UsageError, workerUrl } from "../lib/worker.ts";

export { UsageError };

export const USAGE = `usage: npm run reverse-sync -- --worker <URL> --media-root <dir> [--legacy-media-root <path>] [--job <id>] [--dry-run]
         [--max-file-bytes <n>] [--timeout <seconds>] [--token <ADMIN_TOKEN>] [--database-url <postgres URL>]

Applies a reverse-sync bundle (the new app's writes) to the legacy PostgreSQL and media directory.
Set ADMIN_TOKEN and DATABASE_URL in the environment rather than passing --token / --database-url:
command-line arguments are visible to every user of this machine (ps, /proc).
  --worker             the Worker's base URL; https:// (http:// only for localhost, 127.0.0.1, ::1)
  --token              the operator ADMIN_TOKEN (prefer the ADMIN_TOKEN variable)
  --database-url       the legacy database, postgres://user:pass@host:5432/db (prefer DATABASE_URL)
  --media-root         the legacy MEDIA_ROOT directory on this machine
  --legacy-media-root  the MEDIA_ROOT as legacy's file_path values name it (default: --media-root);
                       a bundle made for another media root is refused
  --job                the reverse job to apply (default: the newest completed one)
  --dry-run            list what would change, change nothing
  --max-file-bytes     refuse a bundle with a file declared larger than this (default 1073741824, 1 GiB)
  --timeout            seconds allowed for each HTTP request, body included (default 120)`;

export interface Options {
  worker: URL;
  token: string;
  databaseUrl: string;
  mediaRoot: string;
  /** The media root legacy's rows name: a bundle's manifest.mediaRoot must be this (no trailing '/'). */
  legacyMediaRoot: string;
  jobId: string | null;
  dryRun: boolean;
  maxFileBytes: number;
  timeoutMs: number;
}

const JOB_ID = /^[A-Za-z0-9_-]{1,128}$/;
export const DEFAULT_MAX_FILE_BYTES = 1024 ** 3;

/** Reads the command line (and ADMIN_TOKEN / DATABASE_URL as fallbacks); throws UsageError. */
export function readOptions(argv: string[], env: NodeJS.ProcessEnv): Options | "help" {
  const parsed = parseFlags(argv, {
    worker: { type: "string" },
    token: { type: "string" },
    "database-url": { type: "string" },
    "media-root": { type: "string" },
    "legacy-media-root": { type: "string" },
    job: { type: "string" },
    "dry-run": { type: "boolean", default: false },
    "max-file-bytes": { type: "string" },
    timeout: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  }).values;
  if (parsed.help) return "help";

  const required = (name: string, value: string | undefined): string => {
    if (value === undefined || value.trim() === "") throw new UsageError(`--${name} is required`);
    return value.trim();
  };
  // https:// beyond loopback: the token travels with every request, and the answers are written to legacy.
  const worker = workerUrl(required("worker", parsed.worker));

  const databaseUrl = required("database-url", parsed["database-url"] ?? env.DATABASE_URL);
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) throw new UsageError("--database-url must be a postgres:// or postgresql:// URL");

  const mediaRoot = resolve(required("media-root", parsed["media-root"]));
  if (!statSync(mediaRoot, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--media-root ${mediaRoot} is not a directory`);
  const legacyMediaRoot = (parsed["legacy-media-root"]?.trim() ?? mediaRoot).replace(/(?<=.)\/+$/, "");
  if (!legacyMediaRoot.startsWith("/")) throw new UsageError("--legacy-media-root must be an absolute path");
  if (parsed.job !== undefined && !JOB_ID.test(parsed.job)) throw new UsageError(`--job must be a job id, not ${JSON.stringify(parsed.job)}`);

  let maxFileBytes = DEFAULT_MAX_FILE_BYTES;
  if (parsed["max-file-bytes"] !== undefined) {
    maxFileBytes = Number(parsed["max-file-bytes"]);
    if (!/^\d{1,15}$/.test(parsed["max-file-bytes"]) || maxFileBytes < 1) throw new UsageError("--max-file-bytes must be a whole number of bytes from 1 to 999999999999999");
  }

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
    legacyMediaRoot,
    jobId: parsed.job ?? null,
    dryRun: parsed["dry-run"],
    maxFileBytes,
    timeoutMs,
  };
}
