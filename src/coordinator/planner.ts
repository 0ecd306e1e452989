import type { Env } from "../env";
import type { FileRecord } from "../copy/messages";
import { CsvRecordTooLargeError, csvRecordBatches, type CsvRecord } from "../lib/csv";
import { decodeRow, exportObjectKey, missingColumns, type ExportRow, type ExportTable, type FileRow } from "../legacy/export-contract";
import { relativeMediaPath, uploadKey } from "../legacy/paths";
import { runIsolated } from "../lib/d1";
import { existingIds, upsertFilter, upsertUser } from "./d1-import";
import type { JobCounters, JobRecord, PlanCursor } from "./jobs";
import type { Ledger, NewItem } from "./ledger";

/** Records read per wake-up while planning; the cursor is saved after each step. */
export const PLAN_ROWS_PER_STEP = 5_000;
const D1_BATCH = 50;
const SCAN_PAGE = 500;
export const RECONCILE_PAGE = 90;

const IMPORT_ORDER: readonly ExportTable[] = ["users", "filters", "files"];

export type PlanStep = { ok: true; plan: PlanCursor; counters: JobCounters } | { ok: false; error: string };

interface PlanContext {
  env: Env;
  ledger: Ledger;
  job: JobRecord;
}

/** One bounded step of planning: the next slice of an export table, or of the verify scan. */
export async function planStep(ctx: PlanContext): Promise<PlanStep> {
  const { plan } = ctx.job;
  if (plan.step === "import") return importStep(ctx, plan);
  if (plan.step === "scan") return scanStep(ctx, plan.afterFileId);
  return { ok: true, plan, counters: ctx.job.counters };
}

export function initialPlan(kind: JobRecord["kind"]): PlanCursor {
  return kind === "verify" ? { step: "scan", afterFileId: "" } : { step: "import", table: IMPORT_ORDER[0]!, offset: 0, line: 1, header: null };
}

async function importStep(ctx: PlanContext, cursor: Extract<PlanCursor, { step: "import" }>): Promise<PlanStep> {
  const { env, job } = ctx;
  const counters = { ...job.counters };
  const key = exportObjectKey(job.exportSet!, cursor.table);
  const object = await env.FILES.get(key, cursor.offset > 0 ? { range: { offset: cursor.offset } } : {});
  if (!object) {
    if (cursor.table === "filters") return { ok: true, plan: nextTable(cursor.table), counters };
    return { ok: false, error: `export set '${job.exportSet}' has no ${cursor.table}.csv` };
  }
  let { header, offset, line } = cursor;
  let read = 0;
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
        await importRecords(ctx, cursor.table, header, records.slice(i, i + D1_BATCH), counters, knownUsers);
      }
      const last = records.at(-1);
      if (last) {
        offset = cursor.offset + last.endByte;
        line = last.nextLine;
      }
      read += records.length;
      if (read >= PLAN_ROWS_PER_STEP) return { ok: true, plan: { ...cursor, offset, line, header }, counters };
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

async function importRecords(ctx: PlanContext, table: ExportTable, header: string[], records: CsvRecord[], counters: JobCounters, knownUsers: Set<number>) {
  const { ledger, job, env } = ctx;
  if (table === "files") return planFiles(ctx, decodeRecords(ctx, "files", header, records), knownUsers);
  const upserts =
    table === "users"
      ? decodeRecords(ctx, "users", header, records).map(({ record, row }) => ({ record, statement: upsertUser(env.DB, row) }))
      : decodeRecords(ctx, "filters", header, records).map(({ record, row }) => ({ record, statement: upsertFilter(env.DB, row) }));
  const outcomes = await runIsolated(env.DB, upserts.map((u) => u.statement));
  outcomes.forEach((outcome, i) => {
    const { record } = upserts[i]!;
    if (!outcome.ok) ledger.recordRowError(job.id, table, record.line, outcome.error);
    else if (outcome.changes === 0) ledger.recordRowError(job.id, table, record.line, "id is held by a row created in the new app");
    else if (table === "users") counters.usersMigrated++;
    else counters.filtersMigrated++;
  });
}

/** The records that decode as rows of `table`; each that does not is recorded as a row error. */
function decodeRecords<T extends ExportTable>(ctx: PlanContext, table: T, header: string[], records: CsvRecord[]): { record: CsvRecord; row: ExportRow<T> }[] {
  const valid: { record: CsvRecord; row: ExportRow<T> }[] = [];
  for (const record of records) {
    const decoded = record.error ? { ok: false as const, error: record.error } : decodeRow(table, header, record.fields);
    if (decoded.ok) valid.push({ record, row: decoded.row });
    else ctx.ledger.recordRowError(ctx.job.id, table, record.line, decoded.error);
  }
  return valid;
}

async function planFiles(ctx: PlanContext, rows: { record: CsvRecord; row: FileRow }[], knownUsers: Set<number>) {
  const { env, job, ledger } = ctx;
  const unseen = rows.map((r) => r.row.user_id).filter((id) => !knownUsers.has(id));
  if (unseen.length > 0) for (const id of await existingIds(env.DB, "users", unseen)) knownUsers.add(id);
  const alreadyCopied =
    job.kind === "delta" ? await existingIds(env.DB, "files", rows.map((r) => r.row.file_id)) : new Set<string>();
  const items: { line: number; item: NewItem }[] = [];
  for (const { record, row } of rows) {
    if (alreadyCopied.has(row.file_id)) continue;
    const source = relativeMediaPath(row.file_path, env.LEGACY_MEDIA_ROOT);
    const payload: FileRecord = {
      legacyId: row.id,
      userId: row.user_id,
      fileName: row.file_name,
      uploadedAt: row.uploaded_at,
      systemTags: row.system_tags,
      userTags: row.user_tags,
      metadata: row.metadata,
      legacyPath: row.file_path,
    };
    const item: NewItem = {
      fileId: row.file_id,
      sourcePath: source.ok ? source.relativePath : null,
      r2Key: uploadKey(row.user_id, row.file_id),
      expectedSize: declaredSize(row.metadata),
      payload,
    };
    if (!source.ok) item.failure = { reason: "unsafe_path", detail: source.detail };
    else if (!knownUsers.has(row.user_id)) item.failure = { reason: "unknown_user", detail: `user ${row.user_id} was not imported` };
    items.push({ line: record.line, item });
  }
  for (const index of ledger.insert(job.id, items.map((i) => i.item))) {
    const { line, item } = items[index]!;
    ledger.recordRowError(job.id, "files", line, `file_id: ${item.fileId} appears more than once`);
  }
}

/** A size the legacy row itself declares (metadata.size), checked against what is downloaded. */
function declaredSize(metadata: unknown): number | null {
  const size = (metadata as { size?: unknown } | null)?.size;
  return typeof size === "number" && Number.isSafeInteger(size) && size >= 0 ? size : null;
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
