import type { Env } from "../env";
import { AppClient } from "./app-client";
import { authenticationChecks } from "./authentication";
import { fileChecks } from "./files";
import { integrityChecks } from "./integrity";
import { processingChecks } from "./processing";
import { MAX_SAMPLE, type ValidationReport } from "./report";

export interface ValidationOptions {
  /** Migrated users (legacy tokens) and migrated files (downloads) sampled: 1 to MAX_SAMPLE. */
  sample: number;
  /** The export set D1 is checked against; default: the one of the coordinator's last sync. */
  exportSet?: string | null;
}

/**
 * The validation suite: authentication, files, processing and integrity checks against the new app
 * (called in-process, not through the gate) and its D1 and R2. Needs no request or ExecutionContext,
 * so the coordinator's alarm can run it. Each check is timed on its own, and one that throws fails
 * alone; the report is ok when every check passed. It registers a canary account, which stays.
 */
export async function runValidation(env: Env, options: ValidationOptions): Promise<ValidationReport> {
  const { sample } = options;
  if (!Number.isInteger(sample) || sample < 1 || sample > MAX_SAMPLE) throw new RangeError(`sample must be a whole number from 1 to ${MAX_SAMPLE}, not ${sample}`);
  const started = Date.now();
  const client = new AppClient(env);
  const authentication = await authenticationChecks(env, client, sample);
  const files = await fileChecks(env, client, sample);
  const processing = await processingChecks(env, client, authentication.canary);
  const integrity = await integrityChecks(env, options.exportSet ?? null);
  await client.settle();
  const checks = [...authentication.checks, ...files, ...processing, ...integrity.checks];
  const finished = Date.now();
  return {
    ok: checks.every((c) => c.ok),
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationMs: finished - started,
    sample,
    exportSet: integrity.exportSet,
    checks,
  };
}
