import { exportSetName, type ConflictView } from "../coordinator/model";
import { coordinator, type Env } from "../env";
import { EXPORT_TABLES, decodeRow, exportObjectKey, missingColumns, type ExportRow, type ExportTable } from "../legacy/export-contract";
import { csvRecordBatches, type CsvRecord } from "../lib/csv";
import { batchRead, selectIn } from "../sync/select-in";
import { selectTombstones } from "../sync/tombstones";
import { count, Failures, runCheck, type CheckOutcome } from "./check";
import type { CheckResult } from "./report";

/** Rows per D1 page, objects per R2 list page, export rows per lookup. */
const PAGE = 500;
/** Pages each walk takes at most; past that a check fails as not finished rather than pass on part of the data. */
const MAX_PAGES = 200;
const MAX_ROWS = PAGE * MAX_PAGES;
const CONFLICT_PAGE = 1_000;
const UPLOADS_PREFIX = "uploads/";

class NotFinished extends Error {}

/**
 * integrity: every row of the export set is in D1 (export-rows), and D1's files and R2's objects
 * under uploads/ match one to one, with the same sizes (r2-objects). The export set is
 * `exportSet`, else the one of the coordinator's last sync.
 */
export async function integrityChecks(env: Env, exportSet: string | null): Promise<{ checks: CheckResult[]; exportSet: string | null }> {
  let used = exportSet;
  const rows = await runCheck("integrity", "export-rows", async () => {
    used ??= await lastSyncExportSet(env);
    if (used === null) return { ok: false, detail: "no export set: none was given and the coordinator has no finished full or delta job to take one from" };
    return exportRows(env, used);
  });
  const objects = await runCheck("integrity", "r2-objects", () => filesAgainstObjects(env));
  return { checks: [rows, objects], exportSet: used };
}

async function lastSyncExportSet(env: Env): Promise<string | null> {
  const stub = coordinator(env);
  const { lastSync } = await stub.syncStatus();
  if (!lastSync) return null;
  const job = await stub.getJob(lastSync.jobId);
  return job.ok ? job.value.exportSet : null;
}

// ── export rows against D1 ─────────────────────────────────────────────────────────────────────

interface Tally {
  rows: number;
  inD1: number;
  deletedOnNew: number;
  blocked: number;
}

/** How one table's export rows are found in D1: `found` keys compared with `key(row)`. */
interface TableLookup<T extends ExportTable> {
  found(db: D1Database, rows: ExportRow<T>[]): D1PreparedStatement[];
  key(row: ExportRow<T>): string;
  /** The rows' tombstones (row_id compared with `graveKey(row)`), for tables the new app deletes from. */
  graves?(db: D1Database, rows: ExportRow<T>[]): D1PreparedStatement[];
  graveKey?(row: ExportRow<T>): string;
  owner(row: ExportRow<T>): number;
  name(row: ExportRow<T>): string;
}

const LOOKUPS: { [T in ExportTable]: TableLookup<T> } = {
  users: {
    found: (db, rows) => selectIn(db, `SELECT legacy_id AS k FROM users WHERE legacy_id IN`, rows.map((r) => r.id)),
    key: (r) => String(r.id),
    owner: (r) => r.id,
    name: (r) => `user ${r.id}`,
  },
  files: {
    // A D1 file holding the file_id under another legacy id is not this row (the job reported it).
    found: (db, rows) => selectIn(db, `SELECT id || '/' || legacy_id AS k FROM files WHERE id IN`, rows.map((r) => r.file_id)),
    key: (r) => `${r.file_id}/${r.id}`,
    graves: (db, rows) => selectTombstones(db, "files", rows.map((r) => r.file_id)),
    graveKey: (r) => r.file_id,
    owner: (r) => r.user_id,
    name: (r) => `file ${r.id} (${r.file_id})`,
  },
  filters: {
    found: (db, rows) => selectIn(db, `SELECT legacy_id AS k FROM saved_filters WHERE legacy_id IN`, rows.map((r) => r.id)),
    key: (r) => String(r.id),
    graves: (db, rows) => selectTombstones(db, "saved_filters", rows.map((r) => r.id)),
    graveKey: (r) => String(r.id),
    owner: (r) => r.user_id,
    name: (r) => `filter ${r.id}`,
  },
};

async function exportRows(env: Env, set: string): Promise<CheckOutcome> {
  if (!exportSetName.safeParse(set).success) return { ok: false, detail: `'${set}' is not an export set name` };
  const blocked = await blockedLegacyUsers(env);
  const failures = new Failures();
  const parts: string[] = [];
  for (const table of EXPORT_TABLES) {
    const object = await env.FILES.get(exportObjectKey(set, table));
    if (!object) {
      if (table === "filters") parts.push("no filters.csv");
      else failures.add(`export set '${set}' has no ${table}.csv`);
      continue;
    }
    const tally: Tally = { rows: 0, inD1: 0, deletedOnNew: 0, blocked: 0 };
    try {
      await checkTable(env, table, object.body, blocked, tally, failures);
    } catch (e) {
      if (!(e instanceof NotFinished)) throw e;
      return { ok: false, detail: `not finished: ${e.message}`, failures };
    }
    const extra = [tally.deletedOnNew > 0 ? `${tally.deletedOnNew} deleted on the new app` : "", tally.blocked > 0 ? `${tally.blocked} held back by open username conflicts (not failures)` : ""].filter(Boolean);
    parts.push(`${table}.csv: ${count(tally.rows, "row")}, ${tally.inD1} in D1${extra.map((e) => `, ${e}`).join("")}`);
  }
  const held = await d1Counts(env);
  return { detail: `export set '${set}': ${parts.join("; ")}. D1 holds ${held}`, failures };
}

async function checkTable(env: Env, table: ExportTable, body: ReadableStream<Uint8Array>, blocked: Set<number>, tally: Tally, failures: Failures): Promise<void> {
  let header: string[] | null = null;
  for await (let records of csvRecordBatches(body, { positions: true })) {
    if (header === null) {
      header = records[0]!.fields.map((f) => f.trim());
      const missing = missingColumns(table, header);
      if (missing.length > 0) return void failures.add(`${table}.csv lacks the column(s) ${missing.join(", ")}`);
      records = records.slice(1);
    }
    for (let i = 0; i < records.length; i += PAGE) await checkRecords(env, table, header, records.slice(i, i + PAGE), blocked, tally, failures);
    if (tally.rows > MAX_ROWS) throw new NotFinished(`more than ${MAX_ROWS} rows in ${table}.csv`);
  }
}

async function checkRecords<T extends ExportTable>(env: Env, table: T, header: string[], records: CsvRecord[], blocked: Set<number>, tally: Tally, failures: Failures): Promise<void> {
  const rows: { line: number; row: ExportRow<T> }[] = [];
  for (const record of records) {
    tally.rows++;
    const decoded = record.error ? { ok: false as const, error: record.error } : decodeRow(table, header, record.fields);
    if (decoded.ok) rows.push({ line: record.line, row: decoded.row });
    else failures.add(`${table}.csv line ${record.line}: not importable (${decoded.error})`);
  }
  if (rows.length === 0) return;
  const lookup = LOOKUPS[table] as TableLookup<T>;
  const db = env.DB;
  const plain = rows.map((r) => r.row);
  const [found, graves] = await batchRead(db, [lookup.found(db, plain), lookup.graves?.(db, plain) ?? []]);
  const present = new Set(found!.map((r) => String(r.k)));
  const deleted = new Set(graves!.map((r) => String(r.row_id)));
  for (const { line, row } of rows) {
    if (present.has(lookup.key(row))) tally.inD1++;
    else if (lookup.graveKey && deleted.has(lookup.graveKey(row))) tally.deletedOnNew++;
    else if (blocked.has(lookup.owner(row))) tally.blocked++;
    else failures.add(`${table}.csv line ${line}: ${lookup.name(row)} is not in D1`);
  }
}

/** Legacy users kept out of D1 by an open username conflict: their rows are not expected there yet. */
async function blockedLegacyUsers(env: Env): Promise<Set<number>> {
  const stub = coordinator(env);
  const blocked = new Set<number>();
  for (let page = 0; page < MAX_PAGES; page++) {
    // The RPC types cannot carry the view's `unknown` fields (they come out as never): the view itself is what arrives.
    const conflicts = (await stub.listConflicts("open", CONFLICT_PAGE, page * CONFLICT_PAGE)) as unknown as ConflictView[];
    for (const c of conflicts) {
      if (c.field === "username" && "imported" in c.detail && c.detail.imported === false) blocked.add(c.detail.legacyUserId);
    }
    if (conflicts.length < CONFLICT_PAGE) return blocked;
  }
  throw new NotFinished(`more than ${MAX_PAGES * CONFLICT_PAGE} open conflicts`);
}

async function d1Counts(env: Env): Promise<string> {
  const row = await env.DB.prepare(
    `SELECT (SELECT count(*) FROM users WHERE legacy_id IS NOT NULL) AS users, (SELECT count(*) FROM users WHERE legacy_id IS NULL) AS new_users,
            (SELECT count(*) FROM files WHERE legacy_id IS NOT NULL) AS files, (SELECT count(*) FROM files WHERE legacy_id IS NULL) AS new_files,
            (SELECT count(*) FROM saved_filters WHERE legacy_id IS NOT NULL) AS filters, (SELECT count(*) FROM saved_filters WHERE legacy_id IS NULL) AS new_filters`,
  ).first<Record<"users" | "new_users" | "files" | "new_files" | "filters" | "new_filters", number>>();
  if (!row) return "nothing";
  return `${row.users} migrated users, ${row.files} files and ${row.filters} filters (and ${row.new_users} users, ${row.new_files} files and ${row.new_filters} filters created by the new app)`;
}

// ── D1 files against R2 objects ────────────────────────────────────────────────────────────────

interface Keyed {
  key: string;
  size: number;
  id?: string;
}

/**
 * Walks D1's files by r2_key and R2's objects under uploads/ side by side. Both come in UTF-8 byte
 * order (R2 lists so; D1 sorts TEXT with the BINARY collation, memcmp of UTF-8), so one pass pairs them.
 */
async function filesAgainstObjects(env: Env): Promise<CheckOutcome> {
  const failures = new Failures();
  const seen = { rows: 0, objects: 0 };
  const rows = d1Files(env.DB);
  const objects = r2Objects(env.FILES);
  try {
    let row = await rows.next();
    let object = await objects.next();
    while (!row.done || !object.done) {
      const order = row.done ? 1 : object.done ? -1 : compareUtf8(row.value.key, object.value.key);
      if (order < 0 && !row.done) {
        failures.add(`${row.value.key}: D1 file ${row.value.id} has no R2 object`);
      } else if (order > 0 && !object.done) {
        failures.add(`${object.value.key}: R2 object without a files row`);
      } else if (!row.done && !object.done && row.value.size !== object.value.size) {
        failures.add(`${row.value.key}: R2 holds ${object.value.size} bytes, D1 file ${row.value.id} says ${row.value.size}`);
      }
      if (order <= 0 && !row.done) {
        seen.rows++;
        row = await rows.next();
      }
      if (order >= 0 && !object.done) {
        seen.objects++;
        object = await objects.next();
      }
    }
  } catch (e) {
    if (!(e instanceof NotFinished)) throw e;
    return { ok: false, detail: `not finished: ${e.message}`, failures };
  }
  return { detail: `${count(seen.rows, "D1 file")} and ${count(seen.objects, "R2 object")} under ${UPLOADS_PREFIX} compared: every file needs its object with its size, every object a row`, failures };
}

async function* d1Files(db: D1Database): AsyncGenerator<Keyed> {
  let after = "";
  for (let page = 0; ; page++) {
    if (page === MAX_PAGES) throw new NotFinished(`more than ${MAX_ROWS} D1 files`);
    const { results } = await db.prepare(`SELECT r2_key AS key, size, id FROM files WHERE r2_key > ? ORDER BY r2_key LIMIT ?`).bind(after, PAGE).all<Keyed>();
    yield* results;
    if (results.length < PAGE) return;
    after = results.at(-1)!.key;
  }
}

async function* r2Objects(bucket: R2Bucket): AsyncGenerator<Keyed> {
  let cursor: string | undefined;
  for (let page = 0; ; page++) {
    if (page === MAX_PAGES) throw new NotFinished(`more than ${MAX_ROWS} R2 objects under ${UPLOADS_PREFIX}`);
    const listed = await bucket.list({ prefix: UPLOADS_PREFIX, limit: PAGE, cursor });
    yield* listed.objects.map((o) => ({ key: o.key, size: o.size }));
    if (!listed.truncated) return;
    cursor = listed.cursor;
  }
}

/**
 * Compares as UTF-8 bytes do, which is code point order. UTF-16 units sort the same, except that a
 * surrogate (half of a code point above U+FFFF) must sort after every other unit.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    return xs === ys ? x - y : xs ? 1 : -1;
  }
  return a.length - b.length;
}
