import { z } from "zod";
import { relativeMediaPath } from "../legacy/paths";
import { formatPgArray, formatPgBoolean, formatPgTimestamp } from "../legacy/postgres-literals";
import { MERGE_RULES, syncedFields, type Value } from "./three-way-merge";
import type { BundleTable } from "./reverse-bundle-format";

/**
 * D1 rows in legacy's shape, for the reverse-sync bundle (reverse-bundle-format.ts): the CSV fields
 * of each bundle table, and what was shipped (the synced fields as an import of legacy's export of
 * them would read them, three-way-merge.ts), which `applied` stores as the row's `legacy_base`.
 */

/** D1 columns each table's rows are read with. */
export const SOURCE_COLUMNS = {
  users: "id, username, email, password_hash, first_name, last_name, date_joined, last_login, is_active, is_staff, is_superuser",
  files: "id, num, user_id, file_name, r2_key, size, checksum, system_tags, user_tags, metadata, legacy_file_path, uploaded_at",
  filters: "id, user_id, file_id, name, description, filter_config, created_at",
} as const;

export interface UserSource {
  id: number;
  username: string;
  email: string;
  password_hash: string;
  first_name: string;
  last_name: string;
  date_joined: string;
  last_login: string | null;
  is_active: number;
  is_staff: number;
  is_superuser: number;
}

export interface FileSource {
  id: string;
  num: number;
  user_id: number;
  file_name: string;
  r2_key: string;
  size: number;
  checksum: string;
  system_tags: string;
  user_tags: string;
  metadata: string;
  legacy_file_path: string | null;
  uploaded_at: string;
}

export interface FilterSource {
  id: number;
  user_id: number;
  file_id: string | null;
  name: string;
  description: string;
  filter_config: string;
  created_at: string;
}

/** What a row's bundle line carried: its synced fields (the next `legacy_base`), and a file's legacy path. */
export interface Shipped {
  base: Record<string, Value>;
  filePath?: string;
}

/** One bundle line: its CSV fields (null: an empty field, NULL) and what it shipped (upserts). */
export interface BundleLine {
  fields: (string | number | null)[];
  shipped?: Shipped;
}

export function userLine(row: UserSource): BundleLine {
  const dateJoined = isoOrSelf(row.date_joined);
  const lastLogin = row.last_login === null ? null : isoOrSelf(row.last_login);
  const base = syncedFields(MERGE_RULES.users, {
    username: row.username,
    email: row.email,
    first_name: row.first_name,
    last_name: row.last_name,
    is_active: row.is_active ? 1 : 0,
    is_staff: row.is_staff ? 1 : 0,
    is_superuser: row.is_superuser ? 1 : 0,
    date_joined: dateJoined,
    password_hash: row.password_hash,
    last_login: lastLogin,
  });
  const fields = [
    row.id,
    row.username,
    row.email,
    row.password_hash,
    row.first_name,
    row.last_name,
    formatPgTimestamp(row.date_joined),
    formatPgTimestamp(row.last_login),
    formatPgBoolean(row.is_active !== 0),
    formatPgBoolean(row.is_staff !== 0),
    formatPgBoolean(row.is_superuser !== 0),
  ];
  return { fields, shipped: { base } };
}

export function fileLine(row: FileSource, mediaRoot: string): BundleLine {
  const relativePath = legacyRelativePath(row, mediaRoot);
  const filePath = `${trimRoot(mediaRoot)}/${relativePath}`;
  const systemTags = tags(row.system_tags);
  const userTags = tags(row.user_tags);
  const base = syncedFields(MERGE_RULES.files, {
    user_id: row.user_id,
    file_name: row.file_name,
    system_tags: JSON.stringify(systemTags),
    user_tags: JSON.stringify(userTags),
    metadata: row.metadata,
  });
  const fields = [
    row.num,
    row.user_id,
    row.id,
    row.file_name,
    filePath,
    formatPgTimestamp(row.uploaded_at),
    formatPgArray(systemTags),
    formatPgArray(userTags),
    row.metadata,
    relativePath,
    row.size,
    row.checksum,
  ];
  return { fields, shipped: { base, filePath } };
}

export function filterLine(row: FilterSource): BundleLine {
  const base = syncedFields(MERGE_RULES.saved_filters, {
    user_id: row.user_id,
    file_id: row.file_id,
    name: row.name,
    description: row.description,
    filter_config: row.filter_config,
  });
  return { fields: [row.id, row.user_id, row.file_id, row.name, row.description, row.filter_config, formatPgTimestamp(row.created_at)], shipped: { base } };
}

const fileSnapshot = z.object({ id: z.number().int().positive(), file_id: z.string().min(1), relative_path: z.string().min(1) });
const filterSnapshot = z.object({ id: z.number().int().positive() });

/** Outbox table names as the bundle names them. */
export const BUNDLE_TABLE_OF = { users: "users", files: "files", saved_filters: "filters" } as const satisfies Record<string, BundleTable>;

/**
 * The deletions line of a deleted row, from its outbox snapshot (users: the id is the row id), or
 * why the snapshot cannot be read.
 */
export function deletionLine(tbl: keyof typeof BUNDLE_TABLE_OF, rowId: string, snapshot: string | null): { ok: true; line: BundleLine } | { ok: false; error: string } {
  if (tbl === "users") {
    return /^\d+$/.test(rowId) ? { ok: true, line: { fields: ["users", Number(rowId), null, null] } } : { ok: false, error: `users ${rowId}: not an integer id` };
  }
  let json: unknown;
  try {
    json = snapshot === null ? null : JSON.parse(snapshot);
  } catch {
    json = null;
  }
  if (tbl === "files") {
    const parsed = fileSnapshot.safeParse(json);
    if (!parsed.success) return { ok: false, error: `files ${rowId}: unreadable delete snapshot` };
    return { ok: true, line: { fields: ["files", parsed.data.id, parsed.data.file_id, parsed.data.relative_path] } };
  }
  const parsed = filterSnapshot.safeParse(json);
  if (!parsed.success) return { ok: false, error: `saved_filters ${rowId}: unreadable delete snapshot` };
  return { ok: true, line: { fields: ["filters", parsed.data.id, null, null] } };
}

/**
 * Where a file lies under legacy's media root: its legacy relative path if it has one (an imported
 * file: legacy_file_path under `mediaRoot`), else `reverse-sync/<user_id>/<file_id>.csv`. The name a
 * user chose stays in the row's file_name only: no user-chosen extension (.html, .php, .htaccess)
 * may land in a media directory legacy serves.
 */
export function legacyRelativePath(row: Pick<FileSource, "id" | "user_id" | "legacy_file_path">, mediaRoot: string): string {
  if (row.legacy_file_path) {
    const legacy = relativeMediaPath(row.legacy_file_path, trimRoot(mediaRoot));
    if (legacy.ok) return legacy.relativePath;
  }
  return `reverse-sync/${row.user_id}/${row.id}.csv`;
}

function trimRoot(mediaRoot: string): string {
  return mediaRoot.replace(/\/+$/, "");
}

/** A JSON array of tags (D1 text) as strings; anything else is no tags. */
function tags(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.map(String) : [];
  } catch {
    return [];
  }
}

/** An instant as `toISOString` writes it (what an import of legacy's export reads back); other text as it is. */
function isoOrSelf(text: string): string {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? text : new Date(ms).toISOString();
}
