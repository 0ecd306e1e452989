import type { CsvShape } from "./content-tap";
import type { FileRecord } from "./messages";
import { SQL_NOW } from "../lib/d1";

/** Upserts the D1 `files` row of a copied legacy file (never touching a new-app row with that id). */
export function upsertFileRow(db: D1Database, fileId: string, r2Key: string, record: FileRecord, copy: { bytes: number; sha256: string; shape: CsvShape }): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO files (id, legacy_id, num, user_id, file_name, r2_key, size, checksum, row_count, column_count,
                          columns_metadata, system_tags, user_tags, metadata, legacy_file_path, uploaded_at, migrated_at)
       VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ${SQL_NOW})
       ON CONFLICT (id) DO UPDATE SET
         user_id = excluded.user_id, file_name = excluded.file_name, r2_key = excluded.r2_key, size = excluded.size,
         checksum = excluded.checksum, row_count = excluded.row_count, column_count = excluded.column_count,
         columns_metadata = excluded.columns_metadata, system_tags = excluded.system_tags, user_tags = excluded.user_tags,
         metadata = excluded.metadata, legacy_file_path = excluded.legacy_file_path, uploaded_at = excluded.uploaded_at,
         migrated_at = excluded.migrated_at, updated_at = ${SQL_NOW}
       WHERE files.legacy_id = excluded.legacy_id`,
    )
    .bind(
      fileId,
      record.legacyId,
      record.userId,
      record.fileName,
      r2Key,
      copy.bytes,
      copy.sha256,
      copy.shape.rowCount,
      copy.shape.columnCount,
      JSON.stringify(copy.shape.columns),
      JSON.stringify(record.systemTags),
      JSON.stringify(record.userTags),
      JSON.stringify(record.metadata ?? {}),
      record.legacyPath,
      record.uploadedAt,
    );
}
