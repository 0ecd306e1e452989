import type { Env } from "../env";
import { readOutbox } from "../sync/outbox";
import { PartBuilder, putManifest, putPart, type BundleSummary } from "../sync/reverse-bundle";
import { BUNDLE_TABLES, PART_ROWS, type BundleTable } from "../sync/reverse-bundle-format";
import { deletionLine, fileLine, filterLine, SOURCE_COLUMNS, userLine, type BundleLine, type FileSource, type FilterSource, type UserSource } from "../sync/reverse-rows";
import { batchRead, selectIn } from "../sync/select-in";
import type { JobCounters, JobRecord, PlanCursor, ReverseCounters } from "./jobs";
import type { Ledger, NewItem } from "./ledger";
import type { ReverseStore, StagedRow } from "./reverse-store";

/** Outbox entries read per planning step. */
const COLLECT_PAGE = 1_000;
/** Rows read from D1 per query while a part is built (one IN list). */
const READ_CHUNK = 50;
/** Part numbers have four digits (PART_NAME). */
const MAX_PARTS = 9_999;

export type ReverseCursor = Extract<PlanCursor, { step: "collect" | "bundle" | "manifest" }>;
export type ReverseStep = { ok: true; plan: PlanCursor; counters: JobCounters } | { ok: false; error: string };

export interface ReverseContext {
  env: Env;
  ledger: Ledger;
  store: ReverseStore;
  job: JobRecord;
}

export function emptyReverse(fromSeq: number, toSeq: number): ReverseCounters {
  const zero = () => Object.fromEntries(BUNDLE_TABLES.map((t) => [t, 0])) as Record<BundleTable, number>;
  return { fromSeq, toSeq, counts: zero(), parts: zero() };
}

/**
 * One bounded step of a reverse job's planning, checkpointed in its plan cursor:
 * - collect: the next page of outbox entries in (fromSeq, toSeq], kept per row as its latest (ReverseStore);
 * - bundle: the next part of one bundle table (users, files, filters, then deletions): up to
 *   PART_ROWS staged rows, upserts read from D1 as they are now (a row deleted since is left out:
 *   a later entry, after toSeq, deletes it), written to R2 as one object; each file becomes a
 *   verify item (its R2 object must exist with the D1 size and checksum), which also lets the
 *   operator API serve that file as part of this bundle;
 * - manifest: written last.
 */
export async function reverseStep(ctx: ReverseContext, cursor: ReverseCursor): Promise<ReverseStep> {
  const bundle = ctx.job.counters.reverse;
  if (!bundle) return { ok: false, error: "reverse job without its sequence range" };
  if (cursor.step === "collect") {
    const entries = await readOutbox(ctx.env.DB, cursor.afterSeq, bundle.toSeq, COLLECT_PAGE);
    ctx.store.stage(ctx.job.id, entries);
    const plan: PlanCursor = entries.length < COLLECT_PAGE ? { step: "bundle", table: BUNDLE_TABLES[0], afterSeq: 0 } : { step: "collect", afterSeq: entries.at(-1)!.seq };
    return { ok: true, plan, counters: ctx.job.counters };
  }
  if (cursor.step === "bundle") return partStep(ctx, bundle, cursor.table, cursor.afterSeq);
  await putManifest(ctx.env.FILES, summaryOf(ctx.env, ctx.job, bundle));
  return { ok: true, plan: { step: "done" }, counters: ctx.job.counters };
}

function summaryOf(env: Env, job: JobRecord, bundle: ReverseCounters): BundleSummary {
  return { jobId: job.id, fromSeq: bundle.fromSeq, toSeq: bundle.toSeq, createdAt: job.createdAt, mediaRoot: env.LEGACY_MEDIA_ROOT, parts: bundle.parts, counts: bundle.counts };
}

async function partStep(ctx: ReverseContext, bundle: ReverseCounters, table: BundleTable, afterSeq: number): Promise<ReverseStep> {
  const { env, job, store, ledger } = ctx;
  const staged = store.next(job.id, table, afterSeq, PART_ROWS);
  const part = new PartBuilder(table);
  const shipped: { row: StagedRow; line: BundleLine }[] = [];
  const items: NewItem[] = [];
  let lastSeq = afterSeq;
  let cut = false;
  for (let i = 0; i < staged.length && !cut; i += READ_CHUNK) {
    const chunk = staged.slice(i, i + READ_CHUNK);
    if (table === "deletions") {
      for (const row of chunk) {
        const deletion = deletionLine(row.tbl, row.row_id, row.snapshot);
        if (deletion.ok) part.add(deletion.line.fields);
        else ledger.recordRowError(job.id, "deletions", row.seq, deletion.error);
      }
    } else {
      for (const { row, source } of await readSources(env.DB, table, chunk)) {
        const line = table === "users" ? userLine(source as UserSource) : table === "files" ? fileLine(source as FileSource, env.LEGACY_MEDIA_ROOT) : filterLine(source as FilterSource);
        part.add(line.fields);
        shipped.push({ row, line });
        if (table === "files") items.push(verifyItem(source as FileSource, line));
      }
    }
    lastSeq = chunk.at(-1)!.seq;
    cut = part.full;
  }
  const counters: JobCounters = { ...job.counters, reverse: { ...bundle, counts: { ...bundle.counts }, parts: { ...bundle.parts } } };
  if (part.rows > 0) {
    const index = bundle.parts[table];
    if (index >= MAX_PARTS) return { ok: false, error: `the bundle needs more than ${MAX_PARTS} ${table} parts` };
    await putPart(env.FILES, job.id, part, index);
    counters.reverse!.parts[table] = index + 1;
    counters.reverse!.counts[table] += part.rows;
  }
  for (const { row, line } of shipped) store.ship(job.id, row.tbl, row.row_id, line.shipped!);
  ledger.insert(job.id, items);
  const more = cut || staged.length === PART_ROWS;
  return { ok: true, plan: more ? { step: "bundle", table, afterSeq: lastSeq } : nextTable(table), counters };
}

function nextTable(table: BundleTable): PlanCursor {
  const next = BUNDLE_TABLES[BUNDLE_TABLES.indexOf(table) + 1];
  return next ? { step: "bundle", table: next, afterSeq: 0 } : { step: "manifest" };
}

type Source = UserSource | FileSource | FilterSource;

/** The D1 rows of these staged upserts, in their order; rows D1 no longer holds are left out. */
async function readSources(db: D1Database, table: Exclude<BundleTable, "deletions">, rows: readonly StagedRow[]): Promise<{ row: StagedRow; source: Source }[]> {
  const from = table === "filters" ? "saved_filters" : table;
  const ids = rows.map((r) => (table === "files" ? r.row_id : Number(r.row_id)));
  const [found] = (await batchRead(db, [selectIn(db, `SELECT ${SOURCE_COLUMNS[table]} FROM ${from} WHERE id IN`, ids)])) as unknown as [Source[]];
  const byId = new Map(found.map((s) => [String(s.id), s]));
  return rows.flatMap((row) => {
    const source = byId.get(row.row_id);
    return source ? [{ row, source }] : [];
  });
}

function verifyItem(file: FileSource, line: BundleLine): NewItem {
  return {
    fileId: file.id,
    sourcePath: null,
    r2Key: file.r2_key,
    expectedSize: file.size,
    payload: { size: file.size, sha256: file.checksum, legacyPath: line.shipped?.filePath ?? null },
  };
}
