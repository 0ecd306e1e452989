import { MERGE_RULES, parseBase, sameFields, syncedFields, threeWayMerge, type FieldConflict, type Fields, type SyncedTable, type Value } from "../sync/three-way-merge";
import { updateMerged, type StoredRow } from "./d1-import";

/**
 * The merge of one export row into the imported D1 row it belongs to (three-way-merge.ts), and the
 * D1 write it needs, if any: the merged values, the remote values as the new base, and `changed_on`
 * 'legacy' only when a remote value was taken.
 */
export class RowMerge {
  readonly values: Record<string, Value>;
  readonly base: Record<string, Value>;
  readonly tookRemote: Set<string>;
  conflicts: FieldConflict[];
  readonly #oldBase: Fields | null;

  constructor(
    readonly table: SyncedTable,
    readonly stored: StoredRow,
    remote: Fields,
  ) {
    this.#oldBase = parseBase(stored.legacy_base);
    const merged = threeWayMerge(MERGE_RULES[table], this.#oldBase, stored, remote);
    this.values = merged.values;
    this.tookRemote = new Set(merged.tookRemote);
    this.conflicts = merged.conflicts;
    this.base = syncedFields(MERGE_RULES[table], remote);
  }

  /** Keeps `field`'s local value and its old base, so that its remote change is still pending next time. */
  hold(field: string): void {
    this.values[field] = this.stored[field] ?? null;
    this.base[field] = this.#oldBase ? (this.#oldBase[field] ?? null) : (this.stored[field] ?? null);
    this.tookRemote.delete(field);
  }

  /** The D1 update, or null when the row already holds the merge and its base. */
  statement(db: D1Database): D1PreparedStatement | null {
    const rule = MERGE_RULES[this.table];
    if (this.tookRemote.size === 0 && this.#oldBase && sameFields(rule, this.#oldBase, this.base)) return null;
    return updateMerged(db, this.table, this.stored, this.values, this.base, this.tookRemote.size > 0 ? "legacy" : this.stored.changed_on);
  }
}
