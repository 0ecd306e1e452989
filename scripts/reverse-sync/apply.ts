import type { BundleManifest } from "../../src/sync/reverse-bundle-format.ts";
import type { BundleReader, Row } from "./bundle.ts";
import { isLegacyRange, legacyId, NEW_APP_ID_FLOOR, type LegacyDb, type RowTable } from "./legacy-db.ts";
import { freeBytes, isInPlace, mediaPath, MediaStage, removeMedia, type ExpectedFile } from "./media.ts";
import type { WorkerApi } from "./worker-api.ts";

/** A bundle this legacy database must not take; nothing was changed. */
export class Refusal extends Error {}

/** A failure once the COMMIT was sent: the bundle is (or may be) applied. */
export class AfterCommitError extends Error {}

export interface Context {
  api: WorkerApi;
  db: LegacyDb;
  reader: BundleReader;
  manifest: BundleManifest;
  mediaRoot: string;
  /** A file declared larger than this is refused (--max-file-bytes). */
  maxFileBytes: number;
  log: (line: string) => void;
}

export interface Tally {
  inserted: Record<RowTable, number>;
  updated: Record<RowTable, number>;
  deleted: Record<RowTable, number>;
  /** Deletions of rows that were not there. */
  absent: number;
  written: number;
  unchanged: number;
  removed: number;
  /** Files (and their rows) left out: deleted on the new app after the bundle was made. */
  skipped: number;
}

export function emptyTally(): Tally {
  const zero = () => ({ users: 0, files: 0, filters: 0 });
  return { inserted: zero(), updated: zero(), deleted: zero(), absent: 0, written: 0, unchanged: 0, removed: 0, skipped: 0 };
}

const ROW_TABLES = ["users", "files", "filters"] as const;
/** Deletions run children first. */
const DELETE_ORDER = ["filters", "files"] as const;
/** Space left free on the media file system after the downloads. */
const DISK_HEADROOM = 64 * 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SKIPPED = "deleted on the new app since the bundle; the next bundle carries the deletion";

function label(table: RowTable, row: Row): string {
  if (table === "users") return `user ${row.id} ${JSON.stringify(row.username)}${isLegacyRange(row.id ?? "") ? " (username and email only)" : ""}`;
  if (table === "files") return `file ${row.id} ${JSON.stringify(row.file_name)} (user ${row.user_id})`;
  return `filter ${row.id} ${JSON.stringify(row.name)} (user ${row.user_id})`;
}

/** The file_path legacy gives a file at `relativePath` under its media root. */
function legacyPath(ctx: Context, relativePath: string): string {
  return `${ctx.manifest.mediaRoot.replace(/\/+$/, "")}/${relativePath}`;
}

type CheckedFile = ExpectedFile & { id: string; path: string };

/**
 * A files row's media facts, checked: where it goes, and what its bytes must be. A new-app file
 * (id above NEW_APP_ID_FLOOR) goes to `reverse-sync/<user_id>/<file_id>.csv` exactly: its
 * user-chosen name stays in file_name, and no user-chosen extension reaches legacy's media dir.
 */
function expectedFile(row: Row, where: string, ctx: Context): CheckedFile {
  const id = legacyId(row, where);
  const fileId = row.file_id?.trim().toLowerCase() ?? "";
  if (!UUID.test(fileId)) throw new Error(`${where}: file_id ${JSON.stringify(row.file_id)} is not a UUID`);
  if (!/^\d{1,15}$/.test(row.size ?? "")) throw new Error(`${where}: size ${JSON.stringify(row.size)} is not a byte count`);
  if (Number(row.size) > ctx.maxFileBytes) throw new Refusal(`${where}: file ${fileId} is declared ${row.size} bytes, more than --max-file-bytes ${ctx.maxFileBytes}`);
  if (!/^[0-9a-fA-F]{64}$/.test(row.sha256 ?? "")) throw new Error(`${where}: sha256 ${JSON.stringify(row.sha256)} is not a SHA-256`);
  const relativePath = row.relative_path ?? "";
  const path = wrapped(where, () => mediaPath(ctx.mediaRoot, relativePath));
  // The row's file_path is what legacy Django opens: it must name this very file.
  if (row.file_path !== legacyPath(ctx, relativePath)) throw new Error(`${where}: file_path ${JSON.stringify(row.file_path)} is not ${JSON.stringify(legacyPath(ctx, relativePath))} (mediaRoot + relative_path)`);
  if (!isLegacyRange(id)) {
    const named = `reverse-sync/${legacyId(row, where, "user_id")}/${fileId}.csv`;
    if (relativePath !== named) throw new Refusal(`${where}: new-app file ${id} must go to ${named}, not ${JSON.stringify(relativePath)}`);
  }
  return { id, fileId, relativePath, size: Number(row.size), sha256: row.sha256!.toLowerCase(), path };
}

interface Deletion {
  table: "files" | "filters";
  id: string;
  /**
   * Files: the file_id the deleted row had. The new app may number a later file with the id a
   * deleted one had, so a deletion removes the row only if it is still that file.
   */
  fileId: string | null;
  /** Files: the media file to remove after COMMIT (if the row was deleted and still named it). */
  path: string | null;
  relativePath: string;
}

function readDeletion(row: Row, where: string, ctx: Context): Deletion {
  const table = row.table?.trim();
  // The new app never deletes a user: a bundle that does is not the new app's.
  if (table === "users") throw new Refusal(`${where}: the bundle deletes user ${JSON.stringify(row.id)}, and the new app never deletes users`);
  if (table !== "files" && table !== "filters") throw new Error(`${where}: table ${JSON.stringify(row.table)} is not files or filters`);
  const id = legacyId(row, where);
  if (table === "filters") return { table, id, fileId: null, path: null, relativePath: "" };
  const fileId = row.file_id?.trim().toLowerCase() ?? "";
  if (!UUID.test(fileId)) throw new Error(`${where}: file_id ${JSON.stringify(row.file_id)} is not a UUID`);
  const relativePath = row.relative_path ?? "";
  const path = relativePath === "" ? null : wrapped(where, () => mediaPath(ctx.mediaRoot, relativePath));
  return { table, id, fileId, path, relativePath };
}

function wrapped<T>(where: string, action: () => T): T {
  try {
    return action();
  } catch (error) {
    throw new Error(`${where}: ${(error as Error).message}`);
  }
}

/** Deletions are few (an id and a path each): they are read whole, then run in DELETE_ORDER. */
async function readDeletions(ctx: Context): Promise<Deletion[]> {
  const deletions: Deletion[] = [];
  await ctx.reader.forEachRow("deletions", async (row, where) => void deletions.push(readDeletion(row, where, ctx)));
  return DELETE_ORDER.flatMap((table) => deletions.filter((d) => d.table === table));
}

/**
 * Checks every users row against legacy before anything is written: a legacy user (id up to
 * NEW_APP_ID_FLOOR) must be there (none is ever inserted), and no username may end up held by two
 * users. Legacy's email is not unique (Django's auth_user), so it is not checked. Returns the users
 * the bundle renames: their names are parked first, so names passed between users do not collide.
 */
async function checkUsers(ctx: Context): Promise<string[]> {
  const users = new Map<string, string>();
  const holderInBundle = new Map<string, string>();
  const renamed = new Set<string>();
  const collisions: string[] = [];
  await ctx.reader.forEachRow("users", async (row, where) => {
    const id = legacyId(row, where);
    const username = row.username ?? "";
    if (users.has(id)) throw new Refusal(`${where}: user ${id} appears twice in the bundle`);
    const current = await ctx.db.username(id);
    if (current === null && isLegacyRange(id)) throw new Refusal(`${where}: user ${id} is not in the legacy database, and ids up to ${NEW_APP_ID_FLOOR} are legacy's own: the applier never inserts one`);
    if (current !== null && current !== username) renamed.add(id);
    const other = holderInBundle.get(username);
    if (other !== undefined) collisions.push(`${JSON.stringify(username)}: the bundle gives it to user ${other} and to user ${id}`);
    holderInBundle.set(username, id);
    users.set(id, username);
  });
  for (const [id, username] of users) {
    const holder = await ctx.db.usernameHolder(username, id);
    // A holder the bundle renames gives the name up.
    if (holder !== null && !renamed.has(holder)) collisions.push(`${JSON.stringify(username)}: held by legacy user ${holder}; the bundle gives it to ${isLegacyRange(id) ? "legacy" : "new-app"} user ${id}`);
  }
  if (collisions.length) {
    throw new Refusal(
      [
        `username collisions with legacy (nothing was changed):`,
        ...collisions.map((c) => `  ${c}`),
        `Resolve each by renaming one of the two users: rename the legacy user on legacy (Django admin or manage.py shell),`,
        `or have the new app's user renamed on the new app (the Worker's /admin/conflicts flow does not cover this case) and`,
        `start a new reverse job (POST /admin/jobs {"kind":"reverse"}). Then run this again.`,
      ].join("\n"),
    );
  }
  return [...renamed];
}

/**
 * Checks every files row before anything is written or downloaded (expectedFile; a legacy file, id
 * up to NEW_APP_ID_FLOOR, must be there and keep its file_path; a file to be written must be no
 * other legacy row's). Returns the files and the bytes to download.
 */
async function checkFiles(ctx: Context): Promise<{ files: Map<string, CheckedFile & { inPlace: boolean }>; downloadBytes: number }> {
  const files = new Map<string, CheckedFile & { inPlace: boolean }>();
  let downloadBytes = 0;
  await ctx.reader.forEachRow("files", async (row, where) => {
    const file = expectedFile(row, where, ctx);
    if (files.has(file.id)) throw new Refusal(`${where}: file ${file.id} appears twice in the bundle`);
    if (isLegacyRange(file.id)) {
      const current = await ctx.db.filePath(file.id);
      if (current === null) throw new Refusal(`${where}: file ${file.id} is not in the legacy database, and ids up to ${NEW_APP_ID_FLOOR} are legacy's own: the applier never inserts one`);
      if (current !== row.file_path) throw new Refusal(`${where}: legacy file ${file.id} is at ${JSON.stringify(current)}; the bundle would move it to ${JSON.stringify(row.file_path)}`);
    }
    const inPlace = await isInPlace(file.path, file);
    if (!inPlace) {
      const others = await ctx.db.filesAt(row.file_path!, file.id);
      if (others.length) throw new Refusal(`${where}: refusing to write ${file.relativePath}: legacy file row(s) ${others.join(", ")} point at it too`);
      downloadBytes += file.size;
    }
    files.set(file.id, { ...file, inPlace });
  });
  const free = await freeBytes(ctx.mediaRoot);
  if (downloadBytes + DISK_HEADROOM > free) {
    throw new Refusal(`the bundle's files need ${downloadBytes} bytes (and ${DISK_HEADROOM} spare) under ${ctx.mediaRoot}, which has ${free} free: make room first`);
  }
  return { files, downloadBytes };
}

/**
 * Applies the bundle in the transaction the caller opened and commits it. Everything is read and
 * checked first; then files are downloaded and checked (before any legacy row is locked), rows
 * written, renamed into place just before COMMIT, and removed again if it does not commit.
 */
export async function applyBundle(ctx: Context, tally: Tally): Promise<void> {
  const { db, manifest, log } = ctx;
  const stage = new MediaStage(ctx.mediaRoot, ctx.api, manifest.jobId);
  let outcome: "open" | "committed" | "unknown" = "open";
  try {
    const deletions = await readDeletions(ctx);
    const renamed = await checkUsers(ctx);
    const { files } = await checkFiles(ctx);
    const gone = new Set<string>();
    for (const file of files.values()) {
      const result = await stage.stage(file);
      if (result === "gone") {
        gone.add(file.id);
        tally.skipped++;
        log(`  skipped file ${file.id} (${file.fileId}) and its row: ${SKIPPED}`);
        continue;
      }
      tally[result]++;
      log(`  media ${result === "written" ? "downloaded" : "already in place"}: ${file.relativePath} (${file.size} bytes)`);
    }
    // Deletions before upserts: the new app may give a new file the id of a deleted one.
    const removals: Deletion[] = [];
    for (const d of deletions) {
      const { deleted, filePath } = await db.delete(d.table, d.id, d.fileId, `deleting ${d.table} ${d.id}`);
      if (deleted) tally.deleted[d.table]++;
      else tally.absent++;
      log(`  deleted ${d.table.slice(0, -1)} ${d.id}${deleted ? "" : " (was not there)"}`);
      if (!deleted || d.path === null) continue;
      if (filePath === legacyPath(ctx, d.relativePath)) removals.push(d);
      else log(`  media kept: the row pointed at ${JSON.stringify(filePath)}, not ${JSON.stringify(legacyPath(ctx, d.relativePath))}`);
    }
    for (const id of renamed) await db.parkUsername(id);
    for (const table of ROW_TABLES) {
      await ctx.reader.forEachRow(table, async (row, where) => {
        // The same bytes as checked (BundleReader), checked again all the same: it is cheap.
        if (table === "files" && gone.has(expectedFile(row, where, ctx).id)) return;
        const result = await db.upsert(table, row, where);
        tally[result][table]++;
        log(`  ${result} ${label(table, row)}`);
      });
    }
    const sequences = await db.bumpSequences();
    log(`  id sequences at: ${ROW_TABLES.map((t) => `${t} ${sequences[t] ?? "unused"}`).join(", ")}`);
    await db.recordApplied(manifest.jobId, manifest.fromSeq, manifest.toSeq);
    // A deleted row's media goes only if no legacy row points at it any more and this run does not write it.
    const toRemove: Deletion[] = [];
    for (const d of removals) {
      const still = await db.filesAt(legacyPath(ctx, d.relativePath));
      if (still.length) log(`  media kept: ${d.relativePath}: legacy file row(s) ${still.join(", ")} point at it`);
      else if (!stage.paths.has(d.path!)) toRemove.push(d);
    }
    await stage.place();
    outcome = "unknown";
    try {
      await db.query("COMMIT");
      outcome = "committed";
    } catch (error) {
      // The server refused the COMMIT (deferred constraint and the like): it rolled back. Without
      // an answer from the server the outcome is unknown, and the placed files stay: a row that
      // committed must never point at a missing file.
      if ((error as { code?: string }).code) outcome = "open";
      throw error;
    }
    await stage.finish();
    for (const d of toRemove) {
      if (await removeMedia(ctx.mediaRoot, d.path!)) {
        tally.removed++;
        log(`  media removed: ${d.relativePath}`);
      }
    }
  } catch (error) {
    if (outcome === "open") {
      await db.query("ROLLBACK").catch(() => undefined);
      const problems = await stage.discard();
      for (const p of problems) log(`  ! while undoing: ${p}`);
      throw error;
    }
    const message = (error as Error).message;
    throw new AfterCommitError(
      outcome === "unknown"
        ? `the COMMIT got no answer (${message}): the bundle may be applied, and its files were left in place; run again to find out`
        : `the bundle is applied, but then: ${message}`,
    );
  }
}

/**
 * Lists what applyBundle would do, in a read-only transaction, after the same checks; writes
 * nothing anywhere. (Whether the Worker still serves each file is only known by downloading it.)
 */
export async function planBundle(ctx: Context, tally: Tally): Promise<void> {
  const { db, log } = ctx;
  const deletions = await readDeletions(ctx);
  await checkUsers(ctx);
  const { files, downloadBytes } = await checkFiles(ctx);
  for (const table of ROW_TABLES) {
    log(`${table}:`);
    await ctx.reader.forEachRow(table, async (row, where) => {
      const result = (await db.exists(table, legacyId(row, where))) ? "updated" : "inserted";
      tally[result][table]++;
      let media = "";
      if (table === "files") {
        const file = files.get(legacyId(row, where))!;
        tally[file.inPlace ? "unchanged" : "written"]++;
        media = file.inPlace ? `; ${file.relativePath} already in place` : `; would write ${file.relativePath} (${file.size} bytes)`;
      }
      log(`  would ${result === "inserted" ? "insert" : "update"} ${label(table, row)}${media}`);
    });
  }
  log(`media: ${downloadBytes} bytes to download`);
  log("deletions:");
  for (const d of deletions) {
    const present = await db.exists(d.table, d.id);
    if (present) tally.deleted[d.table]++;
    else tally.absent++;
    const removes = present && d.path !== null && (await db.filePath(d.id)) === legacyPath(ctx, d.relativePath);
    if (removes) tally.removed++;
    log(`  would delete ${d.table.slice(0, -1)} ${d.id}${present ? "" : " (not there)"}${removes ? `; would remove ${d.relativePath}` : ""}`);
  }
}

export function summaryLine(mode: string, manifest: BundleManifest, t: Tally): string {
  const rows = (table: RowTable) => `${table} ${t.inserted[table]} inserted ${t.updated[table]} updated ${t.deleted[table]} deleted`;
  const skipped = t.skipped ? `; ${t.skipped} files skipped (${SKIPPED})` : "";
  return `summary: ${mode} job ${manifest.jobId} (changes ${manifest.fromSeq}..${manifest.toSeq}): ${ROW_TABLES.map(rows).join(", ")}; ${t.absent} deletions already gone; media ${t.written} written ${t.unchanged} unchanged ${t.removed} removed${skipped}`;
}
