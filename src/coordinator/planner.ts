import type { Env } from "../env";
import { CsvRecordTooLargeError, csvRecordBatches, type CsvRecord } from "../lib/csv";
import { decodeRow, exportObjectKey, missingColumns, type ExportRow, type ExportTable, type FileRow } from "../legacy/export-contract";
import { relativeMediaPath, uploadKey } from "../legacy/paths";
import { batchRead, selectIn } from "../sync/select-in";
import { fileValues } from "../sync/synced-rows";
import { selectTombstones } from "../sync/tombstones";
import type { ConflictStore } from "./conflicts";
import { selectStored, type StoredRow } from "./d1-import";
import { declaredSize, fileRecord } from "./file-record";
import { importFilters } from "./import-filters";
import { importUsers } from "./import-users";
import { applyWrites, blockedUserDetail, mergeWrite, type Decoded, type ImportContext, type RowWrite } from "./import-writes";
import type { JobCounters, JobRecord, PlanCursor } from "./jobs";
import type { Ledger, NewItem } from "./ledger";
import { RowMerge } from "./row-merge";
import { reverseStep } from "./reverse-planner";
import type { ReverseStore } from "./reverse-store";

/** Records read per wake-up while planning at most (a step also ends after the job's planStepMs); the cursor is saved after each step. */
export const PLAN_ROWS_PER_STEP = 5_000;

/** Export records per D1 round trip while planning (its reads go out as one batch: see selectIn for the 100-parameter chunks). */
export const D1_BATCH = 200;
const SCAN_PAGE = 500;
export const RECONCILE_PAGE = 90;

const IMPORT_ORDER: readonly ExportTable[] = ["users", "filters", "files"];

export type PlanStep = { ok: true; plan: PlanCursor; counters: JobCounters } | { ok: false; error: string };

interface PlanContext {
  env: Env;
  ledger: Ledger;
  conflicts: ConflictStore;
  reverse: ReverseStore;
  job: JobRecord;
}

/** One bounded step of planning: the next slice of an export table, of the verify scan, or of a reverse bundle. */
export async function planStep(ctx: PlanContext): Promise<PlanStep> {
  const { plan } = ctx.job;
  if (plan.step === "import") return importStep(ctx, plan);
  if (plan.step === "scan") return scanStep(ctx, plan.afterFileId);
  if (plan.step === "collect" || plan.step === "bundle" || plan.step === "manifest") return reverseStep({ ...ctx, store: ctx.reverse }, plan);
  return { ok: true, plan, counters: ctx.job.counters };
}

/** Where planning starts; a reverse job reads the outbox after `since`. */
export function initialPlan(kind: JobRecord["kind"], since = 0): PlanCursor {
  if (kind === "reverse") return { step: "collect", afterSeq: since };
  return kind === "verify" ? { step: "scan", afterFileId: "" } : { step: "import", table: IMPORT_ORDER[0]!, offset: 0, line: 1, header: null };
}

async function importStep(ctx: PlanContext, cursor: Extract<PlanCursor, { step: "import" }>): Promise<PlanStep> {
  const { env, job } = ctx;
  const counters = { legacyChanges: 0, filesDeletedOnNew: 0, filtersDeletedOnNew: 0, ...job.counters };
  const importing: ImportContext = { ...ctx, counters, now: Date.now() };
  const key = exportObjectKey(job.exportSet!, cursor.table);
  const object = await env.FILES.get(key, cursor.offset > 0 ? { range: { offset: cursor.offset } } : {});
  if (!object) {
    if (cursor.table === "filters") return { ok: true, plan: nextTable(cursor.table), counters };
    return { ok: false, error: `export set '${job.exportSet}' has no ${cursor.table}.csv` };
  }
  let { header, offset, line } = cursor;
  let read = 0;
  const started = Date.now();
  // Users already seen to exist in D1, so that each is looked up once per step, not once per batch.
  const knownUsers = new Set<number>();
  try {
    for await (let records of csvRecordBatches(object.body, { positions: true, firstLine: line, strictUtf8: true })) {
      if (header === null) {
        const first = records[0]!;
        header = first.fields.map((f) => f.trim());
        const missing = missingColumns(cursor.table, header);
        if (missing.length > 0) return { ok: false, error: `${cursor.table}.csv is missing required column(s): ${missing.join(", ")}` };
        records = records.slice(1);
      }
      for (let i = 0; i < records.length; i += D1_BATCH) {
        const batch = records.slice(i, i + D1_BATCH);
        await importRecords(importing, cursor.table, header, batch, knownUsers);
        const last = batch.at(-1)!;
        offset = cursor.offset + last.endByte;
        line = last.nextLine;
        read += batch.length;
        // A step also ends once it has run the job's planStepMs, at the first D1 round trip after it
        // (the Workers clock moves only across I/O, and each batch of D1_BATCH records makes one).
        // At the table's last byte the table is done (the next step would ask R2 for an empty range, which it refuses).
        if ((read >= PLAN_ROWS_PER_STEP || Date.now() - started >= job.settings.planStepMs) && offset < object.size) {
          return { ok: true, plan: { ...cursor, offset, line, header }, counters };
        }
      }
    }
  } catch (e) {
    if (e instanceof TypeError && /decode|utf-?8|encoded/i.test(e.message)) {
      return { ok: false, error: `${cursor.table}.csv is not valid UTF-8 (after line ${line})` };
    }
    if (e instanceof CsvRecordTooLargeError) return { ok: false, error: `${cursor.table}.csv has a record longer than ${e.limitText} (after line ${line})` };
    throw e;
  }
  if (header === null) return { ok: false, error: `${cursor.table}.csv is empty (no header row)` };
  return { ok: true, plan: nextTable(cursor.table), counters };
}

function nextTable(table: ExportTable): PlanCursor {
  const next = IMPORT_ORDER[IMPORT_ORDER.indexOf(table) + 1];
  return next ? { step: "import", table: next, offset: 0, line: 1, header: null } : { step: "done" };
}

async function importRecords(ctx: ImportContext, table: ExportTable, header: string[], records: CsvRecord[], knownUsers: Set<number>) {
  if (table === "users") return importUsers(ctx, decodeRecords(ctx, "users", header, records));
  if (table === "filters") return importFilters(ctx, decodeRecords(ctx, "filters", header, records));
  return planFiles(ctx, decodeRecords(ctx, "files", header, records), knownUsers);
}

/** The records that decode as rows of `table`; each that does not is recorded as a row error. */
function decodeRecords<T extends ExportTable>(ctx: Pick<PlanContext, "ledger" | "job">, table: T, header: string[], records: CsvRecord[]): Decoded<ExportRow<T>> {
  const valid: Decoded<ExportRow<T>> = [];
  for (const record of records) {
    const decoded = record.error ? { ok: false as const, error: record.error } : decodeRow(table, header, record.fields);
    if (decoded.ok) valid.push({ record, row: decoded.row });
    else ctx.ledger.recordRowError(ctx.job.id, table, record.line, decoded.error);
  }
  return valid;
}

/**
 * Files: one deleted on the new app is skipped (counted); one D1 holds has its row fields merged now
 * (three-way-merge.ts) and, in a full job only, an item that checks (and if need be re-copies) its
 * content; any other becomes an item, which the copy consumer inserts.
 */
async function planFiles(ctx: ImportContext, rows: Decoded<FileRow>, knownUsers: Set<number>) {
  const { env, job, ledger, counters } = ctx;
  const db = env.DB;
  const fileIds = rows.map((r) => r.row.file_id);
  const [users, stored, graves] = (await batchRead(db, [
    selectIn(db, `SELECT id FROM users WHERE id IN`, rows.map((r) => r.row.user_id).filter((id) => !knownUsers.has(id))),
    selectStored(db, "files", fileIds),
    selectTombstones(db, "files", fileIds),
  ])) as [{ id: number }[], StoredRow[], { row_id: string }[]];
  for (const { id } of users) knownUsers.add(id);
  const byId = new Map(stored.map((s) => [s.id, s]));
  const deleted = new Set(graves.map((g) => g.row_id));
  const blocked = ctx.conflicts.blockedUsers(rows.map((r) => r.row.user_id).filter((id) => !knownUsers.has(id)));
  const writes: RowWrite[] = [];
  const items: { line: number; item: NewItem }[] = [];
  for (const { record, row } of rows) {
    if (deleted.has(row.file_id)) {
      counters.filesDeletedOnNew++;
      continue;
    }
    const payload = fileRecord(row);
    const held = byId.get(row.file_id);
    if (held && held.legacy_id !== row.id) {
      ledger.recordRowError(job.id, "files", record.line, `file_id: ${row.file_id} is held in D1 by another file`);
      continue;
    }
    if (held) {
      const write = mergeWrite(ctx, new RowMerge("files", held, fileValues(payload)), record.line, () => {});
      if (write) writes.push(write);
      if (job.kind === "delta") continue;
    }
    const source = relativeMediaPath(row.file_path, env.LEGACY_MEDIA_ROOT);
    const item: NewItem = {
      fileId: row.file_id,
      sourcePath: source.ok ? source.relativePath : null,
      r2Key: uploadKey(row.user_id, row.file_id),
      expectedSize: declaredSize(row.metadata),
      payload,
    };
    const conflictId = blocked.get(row.user_id);
    if (!source.ok) item.failure = { reason: "unsafe_path", detail: source.detail };
    else if (conflictId !== undefined) item.failure = { reason: "conflict", detail: blockedUserDetail(row.user_id, conflictId) };
    else if (!knownUsers.has(row.user_id)) item.failure = { reason: "unknown_user", detail: `user ${row.user_id} was not imported` };
    else if (!held) counters.legacyChanges++;
    items.push({ line: record.line, item });
  }
  await applyWrites(ctx, "files", writes);
  for (const index of ledger.insert(job.id, items.map((i) => i.item))) {
    const { line, item } = items[index]!;
    ledger.recordRowError(job.id, "files", line, `file_id: ${item.fileId} appears more than once`);
  }
}

/** Verify jobs: every migrated file row in D1 becomes an item whose R2 object is re-read. */
async function scanStep(ctx: PlanContext, afterFileId: string): Promise<PlanStep> {
  const { env, job, ledger } = ctx;
  const rows = await env.DB.prepare(
    `SELECT id, r2_key, size, checksum, legacy_file_path FROM files WHERE legacy_id IS NOT NULL AND id > ? ORDER BY id LIMIT ?`,
  )
    .bind(afterFileId, SCAN_PAGE)
    .all<{ id: string; r2_key: string; size: number; checksum: string; legacy_file_path: string | null }>();
  ledger.insert(
    job.id,
    rows.results.map((r) => ({
      fileId: r.id,
      sourcePath: null,
      r2Key: r.r2_key,
      expectedSize: r.size,
      payload: { size: r.size, sha256: r.checksum, legacyPath: r.legacy_file_path },
    })),
  );
  const last = rows.results.at(-1);
  return { ok: true, plan: last && rows.results.length === SCAN_PAGE ? { step: "scan", afterFileId: last.id } : { step: "done" }, counters: job.counters };
}
