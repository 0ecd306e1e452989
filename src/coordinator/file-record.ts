import type { FileRecord } from "../copy/messages";
import type { FileRow } from "../legacy/export-contract";

/** The D1 `files` fields an export row brings (carried with its copy item, compared by the merge). */
export function fileRecord(row: FileRow): FileRecord {
  return {
    legacyId: row.id,
    userId: row.user_id,
    fileName: row.file_name,
    uploadedAt: row.uploaded_at,
    systemTags: row.system_tags,
    userTags: row.user_tags,
    metadata: row.metadata,
    legacyPath: row.file_path,
  };
}

/** A size the legacy row itself declares (metadata.size), checked against what is downloaded. */
export function declaredSize(metadata: unknown): number | null {
  const size = (metadata as { size?: unknown } | null)?.size;
  return typeof size === "number" && Number.isSafeInteger(size) && size >= 0 ? size : null;
}
