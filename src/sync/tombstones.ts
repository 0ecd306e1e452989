import { batchRead, selectIn } from "./select-in";

/**
 * Tombstones: imported rows deleted on the new app. Written in the same D1 batch as the delete, read
 * by every import (planner, copy consumer, reconcile), so that no import re-creates such a row.
 */
export type TombstoneTable = "files" | "saved_filters";

/** The tombstone of a deleted row; null for a row the new app created (nothing would bring it back). */
export function tombstone(db: D1Database, table: TombstoneTable, rowId: string | number, legacyId: number | null): D1PreparedStatement | null {
  if (legacyId === null) return null;
  return db.prepare(`INSERT INTO tombstones (tbl, row_id, legacy_id) VALUES (?, ?, ?) ON CONFLICT (tbl, row_id) DO NOTHING`).bind(table, String(rowId), legacyId);
}

/** Reads of the tombstones among `ids`; their rows are `{row_id}` (text). */
export function selectTombstones(db: D1Database, table: TombstoneTable, ids: readonly (string | number)[]): D1PreparedStatement[] {
  return selectIn(db, `SELECT row_id FROM tombstones WHERE tbl = ? AND row_id IN`, ids.map(String), [table]);
}

/** The ids among `ids` (as text) that have a tombstone. */
export async function tombstonedIds(db: D1Database, table: TombstoneTable, ids: readonly (string | number)[]): Promise<Set<string>> {
  const [rows] = await batchRead(db, [selectTombstones(db, table, ids)]);
  return new Set(rows!.map((r) => String(r.row_id)));
}
