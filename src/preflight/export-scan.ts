import type { Env } from "../env";
import type { Decoded } from "../coordinator/import-writes";
import { CsvRecordTooLargeError, csvRecordBatches, type CsvRecord } from "../lib/csv";
import { HttpError } from "../lib/http";
import { decodeRow, EXPORT_TABLES, exportObjectKey, missingColumns, REQUIRED_TABLES, type ExportRow, type ExportTable } from "../legacy/export-contract";

/** Rows looked up in D1 at once: 20 IN-lists of 90 ids per kind of read, one round trip. */
export const ROWS_PER_BATCH = 1_800;
/** A batch also ends at this many bytes, so that long records cannot pile up (each is at most 1 MiB). */
const BYTES_PER_BATCH = 4 * 1024 * 1024;

export interface ExportSet {
  name: string;
  /** The oldest upload of its tables, as a job's `exportedAt`. */
  exportedAt: string;
}

/** The set's uploaded tables; a 404 naming `exportSet` when a required one is missing. */
export async function openExportSet(env: Env, name: string): Promise<ExportSet> {
  let oldest = Infinity;
  for (const table of EXPORT_TABLES) {
    const head = await env.FILES.head(exportObjectKey(name, table));
    if (head) oldest = Math.min(oldest, head.uploaded.getTime());
    else if (REQUIRED_TABLES.includes(table)) throw new HttpError(404, `export set '${name}' has no ${table}.csv`, "exportSet");
  }
  return { name, exportedAt: new Date(oldest).toISOString() };
}

/** Where a job planning this export would fail (planner.ts says the same): the table cannot be read past it. */
export class UnreadableExport extends Error {
  constructor(
    readonly table: ExportTable,
    message: string,
  ) {
    super(message);
  }
}

export interface RowBatch<T extends ExportTable> {
  /** Line of the batch's first record. */
  line: number;
  rows: Decoded<ExportRow<T>>;
  /** Records that do not decode (the job's row errors). */
  bad: { line: number; error: string }[];
}

/**
 * Streams one export table from R2 as batches of decoded rows, decoded as the planner decodes them
 * (same reader options, decodeRow and missingColumns), in linear time and bounded memory. Nothing
 * if the (optional) table is absent; UnreadableExport where a job would fail.
 */
export async function* exportBatches<T extends ExportTable>(env: Env, set: string, table: T): AsyncGenerator<RowBatch<T>> {
  const object = await env.FILES.get(exportObjectKey(set, table));
  if (!object) return;
  let header: string[] | null = null;
  let pending: CsvRecord[] = [];
  let batchStart = 0;
  /** Where the records not read yet start: the planner's cursor, which its messages name. */
  let line = 1;
  try {
    for await (let records of csvRecordBatches(object.body, { positions: true, strictUtf8: true })) {
      if (header === null) {
        header = records[0]!.fields.map((f) => f.trim());
        const missing = missingColumns(table, header);
        if (missing.length > 0) throw new UnreadableExport(table, `${table}.csv is missing required column(s): ${missing.join(", ")}`);
        batchStart = records[0]!.endByte;
        line = records[0]!.nextLine;
        records = records.slice(1);
      }
      for (const record of records) {
        pending.push(record);
        line = record.nextLine;
        if (pending.length >= ROWS_PER_BATCH || record.endByte - batchStart >= BYTES_PER_BATCH) {
          yield decodeBatch(table, header, pending);
          pending = [];
          batchStart = record.endByte;
        }
      }
    }
  } catch (e) {
    if (e instanceof TypeError && /decode|utf-?8|encoded/i.test(e.message)) throw new UnreadableExport(table, `${table}.csv is not valid UTF-8 (after line ${line})`);
    if (e instanceof CsvRecordTooLargeError) throw new UnreadableExport(table, `${table}.csv has a record longer than ${e.limitText} (after line ${line})`);
    throw e;
  }
  if (header === null) throw new UnreadableExport(table, `${table}.csv is empty (no header row)`);
  if (pending.length > 0) yield decodeBatch(table, header, pending);
}

function decodeBatch<T extends ExportTable>(table: T, header: string[], records: CsvRecord[]): RowBatch<T> {
  const batch: RowBatch<T> = { line: records[0]!.line, rows: [], bad: [] };
  for (const record of records) {
    const decoded = record.error ? { ok: false as const, error: record.error } : decodeRow(table, header, record.fields);
    if (decoded.ok) batch.rows.push({ record, row: decoded.row });
    else batch.bad.push({ line: record.line, error: decoded.error });
  }
  return batch;
}
