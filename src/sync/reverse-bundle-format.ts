/**
 * The reverse-sync bundle: the new app's changes after a sequence number, shaped as the legacy
 * tables, for `npm run reverse-sync` to apply to the legacy PostgreSQL and media directory. Shared
 * by the Worker (which writes it) and the applier (which reads it). No runtime dependencies.
 *
 * R2 layout, under `reverse/<jobId>/`: `manifest.json`, then CSV parts (header row, RFC 4180
 * quoting, UTF-8) of at most PART_ROWS rows each, named `<table>-<nnnn>.csv`.
 * Served by the operator API: GET /admin/jobs/:id/bundle (the manifest),
 * GET /admin/jobs/:id/bundle/:part (a part), GET /admin/jobs/:id/files/:fileId (a file's bytes).
 */

export const BUNDLE_FORMAT = "list-cutter-reverse-bundle/1";
export const PART_ROWS = 1_000;

export const BUNDLE_TABLES = ["users", "files", "filters", "deletions"] as const;
export type BundleTable = (typeof BUNDLE_TABLES)[number];

/**
 * Columns of each part. users → auth_user, files → list_cutter_savedfile, filters →
 * list_cutter_savedfilter, with legacy's column names and literals: booleans `t`/`f`, timestamps
 * ISO 8601 with offset, arrays as PostgreSQL array literals (`{a,"b c"}`), JSON as text; an empty
 * field is NULL where the column is nullable (last_login, file_id of a filter).
 * files adds what the applier needs to place the file: `relative_path` (under the media root;
 * `file_path` is the same under the legacy LEGACY_MEDIA_ROOT), `size` and `sha256` of its bytes.
 * deletions: `table` (users | files | filters), `id` (the legacy integer id), `file_id` and
 * `relative_path` (files only: the row and the media file to remove).
 */
export const BUNDLE_COLUMNS: Record<BundleTable, readonly string[]> = {
  users: ["id", "username", "email", "password", "first_name", "last_name", "date_joined", "last_login", "is_active", "is_staff", "is_superuser"],
  files: ["id", "user_id", "file_id", "file_name", "file_path", "uploaded_at", "system_tags", "user_tags", "metadata", "relative_path", "size", "sha256"],
  filters: ["id", "user_id", "file_id", "name", "description", "filter_config", "created_at"],
  deletions: ["table", "id", "file_id", "relative_path"],
};

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  jobId: string;
  /** The changes covered: outbox sequence numbers in (fromSeq, toSeq]. */
  fromSeq: number;
  toSeq: number;
  createdAt: string;
  /** The legacy LEGACY_MEDIA_ROOT that every `file_path` in the bundle lies under. */
  mediaRoot: string;
  /** Part names per table, in order. */
  parts: Record<BundleTable, string[]>;
  /** Rows per table. */
  counts: Record<BundleTable, number>;
}

export function bundlePrefix(jobId: string): string {
  return `reverse/${jobId}/`;
}

export function partName(table: BundleTable, index: number): string {
  return `${table}-${String(index + 1).padStart(4, "0")}.csv`;
}

/** A part name as the operator API accepts it (nothing else is ever looked up). */
export const PART_NAME = /^(users|files|filters|deletions)-\d{4}\.csv$/;
