import { SQL_NOW } from "../lib/d1";
import { selectIn } from "../sync/select-in";
import { MERGE_RULES, syncedFields, type SyncedTable, type Value } from "../sync/three-way-merge";

/** A D1 row of a synced table as an import reads it: its synced fields, base and origin. */
export interface StoredRow {
  id: number | string;
  legacy_id: number | null;
  legacy_base: string | null;
  changed_on: "legacy" | "new";
  [field: string]: Value;
}

/** Reads of the rows of `table` with these ids. */
export function selectStored(db: D1Database, table: SyncedTable, ids: readonly (number | string)[]): D1PreparedStatement[] {
  return selectIn(db, `SELECT id, legacy_id, legacy_base, changed_on, ${MERGE_RULES[table].fields.join(", ")} FROM ${table} WHERE id IN`, ids);
}

/**
 * A legacy row D1 does not hold yet (users, saved_filters; the copy consumer inserts files), keyed
 * by its legacy id, with its base. `extra` are columns written on creation only.
 */
export function insertImported(db: D1Database, table: "users" | "saved_filters", id: number, values: Record<string, Value>, extra: Record<string, Value> = {}): D1PreparedStatement {
  const fields = MERGE_RULES[table].fields;
  const columns = [...fields, ...Object.keys(extra)];
  return db
    .prepare(
      `INSERT INTO ${table} (id, legacy_id, ${columns.join(", ")}, legacy_base, changed_on)
       VALUES (?1, ?1, ${columns.map((_, i) => `?${i + 2}`).join(", ")}, ?${columns.length + 2}, 'legacy')`,
    )
    .bind(id, ...fields.map((f) => values[f] ?? null), ...Object.values(extra), JSON.stringify(syncedFields(MERGE_RULES[table], values)));
}

/**
 * Writes a merge into an imported row, only if the row still holds what the merge read (its synced
 * fields): a change the new app makes meanwhile is never overwritten; the statement then changes
 * nothing, and the next job merges again.
 */
export function updateMerged(db: D1Database, table: SyncedTable, read: StoredRow, values: Record<string, Value>, base: Record<string, Value>, changedOn: "legacy" | "new"): D1PreparedStatement {
  const fields = MERGE_RULES[table].fields;
  return db
    .prepare(
      `UPDATE ${table} SET ${fields.map((f) => `${f} = ?`).join(", ")}, legacy_base = ?, changed_on = ?, updated_at = ${SQL_NOW}
       WHERE id = ? AND legacy_id IS NOT NULL AND ${fields.map((f) => `${f} IS ?`).join(" AND ")}`,
    )
    .bind(...fields.map((f) => values[f] ?? null), JSON.stringify(base), changedOn, read.id, ...fields.map((f) => read[f] ?? null));
}
