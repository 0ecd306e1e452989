import type { FileRecord } from "../copy/messages";
import type { FilterRow, UserRow } from "../legacy/export-contract";
import type { Value } from "./three-way-merge";

/**
 * The synced fields of export rows in their D1 column form (see MERGE_RULES), as an import compares
 * them with D1 and stores them as `legacy_base`.
 */

/** `username` is the name it is imported under (an operator's rename-legacy, or the export's own). */
export function userValues(row: UserRow, username: string): Record<string, Value> {
  return {
    username,
    email: row.email,
    first_name: row.first_name,
    last_name: row.last_name,
    is_active: +row.is_active,
    is_staff: +row.is_staff,
    is_superuser: +row.is_superuser,
    date_joined: row.date_joined,
    password_hash: row.password,
    last_login: row.last_login,
  };
}

export function fileValues(record: FileRecord): Record<string, Value> {
  return {
    user_id: record.userId,
    file_name: record.fileName,
    system_tags: JSON.stringify(record.systemTags),
    user_tags: JSON.stringify(record.userTags),
    metadata: JSON.stringify(record.metadata ?? {}),
  };
}

export function filterValues(row: FilterRow): Record<string, Value> {
  return {
    user_id: row.user_id,
    file_id: row.file_id,
    name: row.name,
    description: row.description,
    filter_config: JSON.stringify(row.filter_config),
  };
}
