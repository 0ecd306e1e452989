import type { CsvShape } from "./content-tap";
import type { FileRecord } from "./messages";
import { SQL_NOW } from "../lib/d1";
import { fileValues } from "../sync/synced-rows";
import { MERGE_RULES, syncedFields } from "../sync/three-way-merge";

/**
 * The D1 `files` row of a copied legacy file. A file D1 does not hold is inserted with the export's
 * fields as its base, unless the new app deleted it (a tombstone: nothing is written, 0 changes).
 * A file D1 holds gets only its content fields: its other fields are the planner's merge to write
 * (three-way-merge.ts). A new-app row with that id is never touched.
 */
export function upsertFileRow(db: D1Database, fileId: string, r2Key: string, record: FileRecord, copy: { bytes: number; sha256: string; shape: CsvShape }): D1PreparedStatement {
  const values = fileValues(record);
  return db
    .prepare(
      // The WHERE also lets SQLite tell the upsert clause from a join (INSERT ... SELECT ... ON CONFLICT).
      `INSERT INTO files (id, legacy_id, num, user_id, file_name, r2_key, size, checksum, row_count, column_count, columns_metadata,
                          system_tags, user_tags, metadata, legacy_file_path, uploaded_at, migrated_at, legacy_base, changed_on)
       SELECT ?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ${SQL_NOW}, ?16, 'legacy'
       WHERE NOT EXISTS (SELECT 1 FROM tombstones WHERE tbl = 'files' AND row_id = ?1)
       ON CONFLICT (id) DO UPDATE SET
         r2_key = excluded.r2_key, size = excluded.size, checksum = excluded.checksum, row_count = excluded.row_count,
         column_count = excluded.column_count, columns_metadata = excluded.columns_metadata,
         legacy_file_path = excluded.legacy_file_path, migrated_at = excluded.migrated_at, updated_at = ${SQL_NOW}
       WHERE files.legacy_id = excluded.legacy_id`,
    )
    .bind(
      fileId,
      record.legacyId,
      values.user_id,
      values.file_name,
      r2Key,
      copy.bytes,
      copy.sha256,
      copy.shape.rowCount,
      copy.shape.columnCount,
      JSON.stringify(copy.shape.columns),
      values.system_tags,
      values.user_tags,
      values.metadata,
      record.legacyPath,
      record.uploadedAt,
      JSON.stringify(syncedFields(MERGE_RULES.files, values)),
    );
}
