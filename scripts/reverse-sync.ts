// npm run reverse-sync -- --worker <URL> --token <ADMIN_TOKEN> --database-url <postgres URL> --media-root <dir> [--job <id>] [--dry-run]
//
// Applies a `reverse` job's bundle (the new app's writes during the canary, see
// src/sync/reverse-bundle-format.ts) to the legacy PostgreSQL and media directory, in one
// transaction, in order (a bundle must start where the last applied one ended), idempotently (a
// bundle applied before changes nothing), then tells the Worker with POST /admin/jobs/:id/applied.
// Exit codes: 0 applied, already applied or dry run; 1 refused or failed (nothing changed unless
// said otherwise); 2 bad arguments.
import pg from "pg";
import { readOptions, USAGE, UsageError, type Options } from "./reverse-sync/args.ts";
import { AfterCommitError, applyBundle, emptyTally, planBundle, Refusal, summaryLine, type Context } from "./reverse-sync/apply.ts";
import { validateManifest } from "./reverse-sync/bundle.ts";
import { LegacyDb } from "./reverse-sync/legacy-db.ts";
import { WorkerApi, type JobSummary } from "./reverse-sync/worker-api.ts";

const log = (line: string) => console.log(line);

function newestCompletedReverseJob(jobs: JobSummary[]): string {
  const candidates = jobs.filter((j) => j.kind === "reverse" && j.state === "completed");
  // The list comes newest first; createdAt decides when present.
  candidates.sort((a, b) => (b.createdAt ?? "").localeCompare(a.createdAt ?? ""));
  const newest = candidates[0];
  if (!newest) throw new Refusal("the Worker lists no completed reverse job; start one (POST /admin/jobs {\"kind\":\"reverse\"}) or pass --job");
  return newest.id;
}

async function main(options: Options): Promise<number> {
  const api = new WorkerApi(options.worker, options.token, options.timeoutMs);
  const jobId = options.jobId ?? newestCompletedReverseJob(await api.listJobs());
  const manifest = validateManifest(await api.manifest(jobId), jobId);
  const { counts } = manifest;
  log(`reverse job ${jobId}: changes ${manifest.fromSeq}..${manifest.toSeq}, ${counts.users} users, ${counts.files} files, ${counts.filters} filters, ${counts.deletions} deletions${options.dryRun ? " (dry run)" : ""}`);

  const client = new pg.Client({ connectionString: options.databaseUrl, connectionTimeoutMillis: 15_000, query_timeout: options.timeoutMs, application_name: "list-cutter-reverse-sync" });
  client.on("error", (error) => log(`! database connection: ${error.message}`));
  await client.connect();
  const db = new LegacyDb(client);
  const ctx: Context = { api, db, manifest, mediaRoot: options.mediaRoot, log };
  const tally = emptyTally();
  try {
    await db.query(options.dryRun ? "BEGIN READ ONLY" : "BEGIN");
    if (!options.dryRun) await db.lockBookkeeping();
    const state = await db.appliedState(jobId);
    if (state.job) {
      await db.query("ROLLBACK");
      if (state.job.fromSeq !== manifest.fromSeq || state.job.toSeq !== manifest.toSeq) {
        throw new Refusal(`job ${jobId} was applied as changes ${state.job.fromSeq}..${state.job.toSeq}, but its bundle now says ${manifest.fromSeq}..${manifest.toSeq}`);
      }
      log(`job ${jobId} already applied: nothing to change`);
      log(summaryLine("already applied", manifest, tally));
      return options.dryRun ? 0 : reportApplied(api, jobId, manifest.toSeq);
    }
    if (manifest.fromSeq !== state.highestToSeq) {
      await db.query("ROLLBACK");
      const why = manifest.fromSeq > state.highestToSeq ? `changes ${state.highestToSeq + 1}..${manifest.fromSeq} are in no applied bundle: apply that bundle first` : `changes up to ${state.highestToSeq} are already applied`;
      throw new Refusal(`bundle of job ${jobId} starts after change ${manifest.fromSeq}, the legacy database has changes up to ${state.highestToSeq}: ${why}`);
    }
    if (options.dryRun) {
      await planBundle(ctx, tally);
      await db.query("ROLLBACK");
      log(summaryLine("dry run (nothing changed) of", manifest, tally));
      return 0;
    }
    await applyBundle(ctx, tally);
    log(summaryLine("applied", manifest, tally));
    return reportApplied(api, jobId, manifest.toSeq);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function reportApplied(api: WorkerApi, jobId: string, toSeq: number): Promise<number> {
  try {
    await api.applied(jobId, toSeq);
  } catch (error) {
    console.error(`✖ the legacy side has job ${jobId} applied, but telling the Worker failed: ${(error as Error).message}. Run again: it will only report it.`);
    return 1;
  }
  log(`told the Worker: job ${jobId} applied up to change ${toSeq}`);
  return 0;
}

let options: Options | "help";
try {
  options = readOptions(process.argv.slice(2), process.env);
} catch (error) {
  if (!(error instanceof UsageError)) throw error;
  console.error(`✖ ${error.message}\n\n${USAGE}`);
  process.exit(2);
}
if (options === "help") {
  console.log(USAGE);
  process.exit(0);
}
try {
  process.exitCode = await main(options);
} catch (error) {
  const outcome = error instanceof Refusal ? "refused" : "failed";
  console.error(`✖ ${outcome}: ${(error as Error).message}`);
  if (error instanceof AfterCommitError) log(`summary: ${outcome} after COMMIT; see above`);
  else log(`summary: ${outcome}; nothing was changed (no rows written, no files left behind)`);
  process.exitCode = 1;
}
