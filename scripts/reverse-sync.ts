// ADMIN_TOKEN=… DATABASE_URL=postgres://… npm run reverse-sync -- --worker <URL> --media-root <dir>
//     [--legacy-media-root <path>] [--job <id>] [--dry-run] [--max-file-bytes <n>] [--timeout <s>]
// (--token and --database-url exist too, but arguments are visible to everyone in `ps`.)
//
// Applies a `reverse` job's bundle (the new app's writes during the canary, see
// src/sync/reverse-bundle-format.ts) to the legacy PostgreSQL and media directory, in one
// transaction, in order (a bundle must start where the last applied one ended), idempotently (a
// bundle applied before changes nothing), then tells the Worker with POST /admin/jobs/:id/applied.
//
// It runs with legacy's database and media directory, so it trusts the Worker and the bundle no
// further than the new app's own writes reach. Everything is read and checked before anything is
// written; a bundle that breaks a rule is refused whole:
//   * manifest.mediaRoot must be --legacy-media-root (default --media-root);
//   * auth_user: a legacy user (id up to 1,000,000,000) only ever gets its username and email (the
//     new app changes nothing else of theirs: a conflict rename), and is never inserted; a new-app
//     user (above) is inserted or updated, never as staff or superuser; users are never deleted;
//     a username another legacy user keeps is refused with the list (email is not unique in Django);
//   * files: a new-app file goes to reverse-sync/<user_id>/<file_id>.csv exactly; a legacy file
//     keeps its legacy file_path; a media file another legacy row points at is never overwritten,
//     and a deleted row's media goes (after COMMIT) only if that row was deleted, named it, and no
//     legacy row still does;
//   * bounds: manifest 1 MiB, each part 16 MiB (so any field), each file --max-file-bytes, and the
//     downloads must fit the media file system's free space; https:// beyond loopback.
// A file the Worker answers 410 for (deleted on the new app after the bundle was made) is skipped
// with its files row; the next bundle carries the deletion. Any other error status aborts.
// Exit codes: 0 applied, already applied or dry run; 1 refused or failed (nothing changed unless
// said otherwise); 2 bad arguments.
import pg from "pg";
import { readOptions, USAGE, type Options } from "./reverse-sync/args.ts";
import { optionsOrExit } from "./lib/worker.ts";
import { AfterCommitError, applyBundle, emptyTally, planBundle, Refusal, summaryLine, type Context } from "./reverse-sync/apply.ts";
import { BundleReader, validateManifest } from "./reverse-sync/bundle.ts";
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
  if (manifest.mediaRoot.replace(/(?<=.)\/+$/, "") !== options.legacyMediaRoot) {
    throw new Refusal(`the bundle's file paths lie under ${JSON.stringify(manifest.mediaRoot)}, this legacy's media root is ${JSON.stringify(options.legacyMediaRoot)} (--legacy-media-root, default --media-root)`);
  }
  const { counts } = manifest;
  log(`reverse job ${jobId}: changes ${manifest.fromSeq}..${manifest.toSeq}, ${counts.users} users, ${counts.files} files, ${counts.filters} filters, ${counts.deletions} deletions${options.dryRun ? " (dry run)" : ""}`);

  const client = new pg.Client({ connectionString: options.databaseUrl, connectionTimeoutMillis: 15_000, query_timeout: options.timeoutMs, application_name: "list-cutter-reverse-sync" });
  client.on("error", (error) => log(`! database connection: ${error.message}`));
  await client.connect();
  const db = new LegacyDb(client);
  const ctx: Context = { api, db, reader: new BundleReader(api, manifest), manifest, mediaRoot: options.mediaRoot, maxFileBytes: options.maxFileBytes, log };
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

const options = optionsOrExit(() => readOptions(process.argv.slice(2), process.env), USAGE);
try {
  process.exitCode = await main(options);
} catch (error) {
  const outcome = error instanceof Refusal ? "refused" : "failed";
  console.error(`✖ ${outcome}: ${(error as Error).message}`);
  if (error instanceof AfterCommitError) log(`summary: ${outcome} after COMMIT; see above`);
  else log(`summary: ${outcome}; nothing was changed (no rows written, no files left behind)`);
  process.exitCode = 1;
}
