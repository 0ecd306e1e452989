import type { BundleManifest } from "../../src/sync/reverse-bundle-format.ts";
import { forEachRow, type Row } from "./bundle.ts";
import { legacyId, type LegacyDb, type RowTable } from "./legacy-db.ts";
import { isInPlace, mediaPath, MediaStage, removeMedia, type ExpectedFile } from "./media.ts";
import type { WorkerApi } from "./worker-api.ts";

/** A bundle this legacy database must not take; nothing was changed. */
export class Refusal extends Error {}

/** A failure once the COMMIT was sent: the bundle is (or may be) applied. */
export class AfterCommitError extends Error {}

export interface Context {
  api: WorkerApi;
  db: LegacyDb;
  manifest: BundleManifest;
  mediaRoot: string;
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
}

export function emptyTally(): Tally {
  const zero = () => ({ users: 0, files: 0, filters: 0 });
  return { inserted: zero(), updated: zero(), deleted: zero(), absent: 0, written: 0, unchanged: 0, removed: 0 };
}

const ROW_TABLES = ["users", "files", "filters"] as const;
/** Deletions run children first. */
const DELETE_ORDER = ["filters", "files", "users"] as const;

function label(table: RowTable, row: Row): string {
  if (table === "users") return `user ${row.id} ${JSON.stringify(row.username)}`;
  if (table === "files") return `file ${row.id} ${JSON.stringify(row.file_name)} (user ${row.user_id})`;
  return `filter ${row.id} ${JSON.stringify(row.name)} (user ${row.user_id})`;
}

/** A files row's media facts, checked: where it goes, and what its bytes must be. */
function expectedFile(row: Row, where: string, ctx: Context): ExpectedFile & { path: string } {
  const fileId = row.file_id?.trim().toLowerCase() ?? "";
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(fileId)) throw new Error(`${where}: file_id ${JSON.stringify(row.file_id)} is not a UUID`);
  if (!/^\d{1,15}$/.test(row.size ?? "")) throw new Error(`${where}: size ${JSON.stringify(row.size)} is not a byte count`);
  if (!/^[0-9a-fA-F]{64}$/.test(row.sha256 ?? "")) throw new Error(`${where}: sha256 ${JSON.stringify(row.sha256)} is not a SHA-256`);
  const relativePath = row.relative_path ?? "";
  const path = wrapped(where, () => mediaPath(ctx.mediaRoot, relativePath));
  // The row's file_path is what legacy Django opens: it must name this very file.
  const legacyPath = `${ctx.manifest.mediaRoot.replace(/\/+$/, "")}/${relativePath}`;
  if (row.file_path !== legacyPath) throw new Error(`${where}: file_path ${JSON.stringify(row.file_path)} is not ${JSON.stringify(legacyPath)} (mediaRoot + relative_path)`);
  return { fileId, relativePath, size: Number(row.size), sha256: row.sha256!.toLowerCase(), path };
}

interface Deletion {
  table: RowTable;
  id: string;
  /**
   * Files: the file_id the deleted row had. The new app may number a later file with the id a
   * deleted one had, so a deletion removes the row only if it is still that file.
   */
  fileId: string | null;
  /** Files: the media file to remove after COMMIT. */
  path: string | null;
  relativePath: string;
}

function readDeletion(row: Row, where: string, ctx: Context): Deletion {
  const table = row.table?.trim();
  if (table !== "users" && table !== "files" && table !== "filters") throw new Error(`${where}: table ${JSON.stringify(row.table)} is not users, files or filters`);
  const relativePath = table === "files" ? (row.relative_path ?? "") : "";
  const path = relativePath === "" ? null : wrapped(where, () => mediaPath(ctx.mediaRoot, relativePath));
  const fileId = table === "files" ? row.file_id?.trim().toLowerCase() || null : null;
  return { table, id: legacyId(row, where), fileId, path, relativePath };
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
  await forEachRow(ctx.api, ctx.manifest, "deletions", async (row, where) => void deletions.push(readDeletion(row, where, ctx)));
  return DELETE_ORDER.flatMap((table) => deletions.filter((d) => d.table === table));
}

/**
 * Applies the bundle in the transaction the caller opened and commits it. Files are downloaded
 * and checked first (before any legacy row is locked), renamed into place just before COMMIT, and
 * removed again if the transaction does not commit.
 */
export async function applyBundle(ctx: Context, tally: Tally): Promise<void> {
  const { db, manifest, log } = ctx;
  const stage = new MediaStage(ctx.mediaRoot, ctx.api, manifest.jobId);
  let outcome: "open" | "committed" | "unknown" = "open";
  try {
    // Read (and so checked) before any download.
    const deletions = await readDeletions(ctx);
    await forEachRow(ctx.api, manifest, "files", async (row, where) => {
      const file = expectedFile(row, where, ctx);
      const result = await stage.stage(file);
      tally[result]++;
      log(`  media ${result === "written" ? "downloaded" : "already in place"}: ${file.relativePath} (${file.size} bytes)`);
    });
    for (const table of ROW_TABLES) {
      await forEachRow(ctx.api, manifest, table, async (row, where) => {
        const result = await db.upsert(table, row, where);
        tally[result][table]++;
        log(`  ${result} ${label(table, row)}`);
      });
    }
    for (const d of deletions) {
      const gone = await db.delete(d.table, d.id, d.fileId, `deleting ${d.table} ${d.id}`);
      if (gone) tally.deleted[d.table]++;
      else tally.absent++;
      log(`  deleted ${d.table.slice(0, -1)} ${d.id}${gone ? "" : " (was not there)"}`);
    }
    const sequences = await db.bumpSequences();
    log(`  id sequences at: ${ROW_TABLES.map((t) => `${t} ${sequences[t] ?? "unused"}`).join(", ")}`);
    await db.recordApplied(manifest.jobId, manifest.fromSeq, manifest.toSeq);
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
    for (const d of deletions) {
      if (d.path && !stage.paths.has(d.path) && (await removeMedia(ctx.mediaRoot, d.path))) {
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

/** Lists what applyBundle would do, in a read-only transaction; writes nothing anywhere. */
export async function planBundle(ctx: Context, tally: Tally): Promise<void> {
  const { db, manifest, log } = ctx;
  for (const table of ROW_TABLES) {
    log(`${table}:`);
    await forEachRow(ctx.api, manifest, table, async (row, where) => {
      const result = (await db.exists(table, legacyId(row, where))) ? "updated" : "inserted";
      tally[result][table]++;
      let media = "";
      if (table === "files") {
        const file = expectedFile(row, where, ctx);
        const inPlace = await isInPlace(file.path, file);
        tally[inPlace ? "unchanged" : "written"]++;
        media = inPlace ? `; ${file.relativePath} already in place` : `; would write ${file.relativePath} (${file.size} bytes)`;
      }
      log(`  would ${result === "inserted" ? "insert" : "update"} ${label(table, row)}${media}`);
    });
  }
  log("deletions:");
  for (const d of await readDeletions(ctx)) {
    const present = await db.exists(d.table, d.id);
    if (present) tally.deleted[d.table]++;
    else tally.absent++;
    const media = d.path ? `; would remove ${d.relativePath}` : "";
    if (d.path) tally.removed++;
    log(`  would delete ${d.table.slice(0, -1)} ${d.id}${present ? "" : " (not there)"}${media}`);
  }
}

export function summaryLine(mode: string, manifest: BundleManifest, t: Tally): string {
  const rows = (table: RowTable) => `${table} ${t.inserted[table]} inserted ${t.updated[table]} updated ${t.deleted[table]} deleted`;
  return `summary: ${mode} job ${manifest.jobId} (changes ${manifest.fromSeq}..${manifest.toSeq}): ${ROW_TABLES.map(rows).join(", ")}; ${t.absent} deletions already gone; media ${t.written} written ${t.unchanged} unchanged ${t.removed} removed`;
}
