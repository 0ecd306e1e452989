import { selectStored, type StoredRow } from "../coordinator/d1-import";
import type { Decoded } from "../coordinator/import-writes";
import { RowMerge } from "../coordinator/row-merge";
import type { FilterRow } from "../legacy/export-contract";
import { batchRead } from "../sync/select-in";
import { filterValues } from "../sync/synced-rows";
import { selectTombstones } from "../sync/tombstones";
import { knownUser, notedMerge, selectD1Users, type ScanState } from "./scan-state";

/**
 * What importing a batch of filters.csv would do, by import-filters.ts's rules, read-only: skipped
 * if the new app deleted it; refused if a new-app row holds its id or its user is kept out by a
 * username conflict; merged if D1 holds it; else inserted, which D1's foreign key refuses when its
 * user is neither in D1 nor imported by this export (unknown_user).
 */
export async function checkFilters(state: ScanState, rows: Decoded<FilterRow>): Promise<void> {
  const db = state.env.DB;
  const ids = rows.map((r) => r.row.id);
  const [stored, graves, users] = (await batchRead(db, [
    selectStored(db, "saved_filters", ids),
    selectTombstones(db, "saved_filters", ids),
    selectD1Users(state, rows.map((r) => r.row.user_id)),
  ])) as [StoredRow[], { row_id: string }[], { id: number }[]];
  const byId = new Map(stored.map((s) => [s.id, s]));
  const deleted = new Set(graves.map((g) => g.row_id));
  const d1Users = new Set(users.map((u) => u.id));
  const { tally, counts } = state;
  for (const { record, row } of rows) {
    const { line } = record;
    const held = byId.get(row.id);
    if (deleted.has(String(row.id))) counts.filters.deletedOnNew++;
    else if (held && held.legacy_id !== row.id) tally.note("filters", line, "id_held", `id ${row.id} is held by a row created in the new app`);
    else if (state.blockedUsers.has(row.user_id)) tally.note("filters", line, "user_in_conflict", `user ${row.user_id} would not be imported: its username is taken`);
    else if (held) {
      counts.filters.wouldImport++;
      notedMerge(state, "filters", line, new RowMerge("saved_filters", held, filterValues(row)));
    } else if (!knownUser(state, d1Users, row.user_id)) tally.note("filters", line, "unknown_user", `user ${row.user_id} is neither in D1 nor imported by this export`);
    else counts.filters.wouldImport++;
  }
}
