import type { FilterRow } from "../legacy/export-contract";
import { batchRead } from "../sync/select-in";
import { filterValues } from "../sync/synced-rows";
import { selectTombstones } from "../sync/tombstones";
import { insertImported, selectStored, type StoredRow } from "./d1-import";
import { applyWrites, blockedUserDetail, mergeWrite, type Decoded, type ImportContext, type RowWrite } from "./import-writes";
import { RowMerge } from "./row-merge";

/**
 * Imports a slice of filters.csv: merges filters D1 holds, inserts the others, skips (and counts)
 * those the new app deleted. A filter of a user kept out by a username conflict is a row error
 * naming the conflict.
 */
export async function importFilters(ctx: ImportContext, rows: Decoded<FilterRow>): Promise<void> {
  const db = ctx.env.DB;
  const ids = rows.map((r) => r.row.id);
  const [stored, graves] = (await batchRead(db, [selectStored(db, "saved_filters", ids), selectTombstones(db, "saved_filters", ids)])) as [StoredRow[], { row_id: string }[]];
  const byId = new Map(stored.map((s) => [s.id, s]));
  const deleted = new Set(graves.map((g) => g.row_id));
  const blocked = ctx.conflicts.blockedUsers(rows.map((r) => r.row.user_id));
  const writes: RowWrite[] = [];
  const imported = () => ctx.counters.filtersMigrated++;
  for (const { record, row } of rows) {
    const held = byId.get(row.id);
    const conflictId = blocked.get(row.user_id);
    if (deleted.has(String(row.id))) ctx.counters.filtersDeletedOnNew++;
    else if (held && held.legacy_id !== row.id) ctx.ledger.recordRowError(ctx.job.id, "filters", record.line, "id is held by a row created in the new app");
    else if (conflictId !== undefined) ctx.ledger.recordRowError(ctx.job.id, "filters", record.line, `user_id: ${blockedUserDetail(row.user_id, conflictId)}`);
    else if (held) {
      const write = mergeWrite(ctx, new RowMerge("saved_filters", held, filterValues(row)), record.line, imported);
      if (write) writes.push(write);
    } else {
      const statement = insertImported(db, "saved_filters", row.id, filterValues(row), { created_at: row.created_at });
      writes.push({ line: record.line, statement, done: () => (imported(), ctx.counters.legacyChanges++) });
    }
  }
  await applyWrites(ctx, "filters", writes);
}
