import { idChunks, SQL_NOW } from "../lib/d1";
import type { FilterRow, UserRow } from "../legacy/export-contract";


/** Upsert of a legacy user keyed by its legacy id; a new-app user holding that id is never overwritten. */
export function upsertUser(db: D1Database, u: UserRow): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO users (id, legacy_id, username, email, password_hash, first_name, last_name,
                          is_active, is_staff, is_superuser, date_joined, last_login)
       VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
       ON CONFLICT (id) DO UPDATE SET
         username = excluded.username, email = excluded.email, password_hash = excluded.password_hash,
         first_name = excluded.first_name, last_name = excluded.last_name, is_active = excluded.is_active,
         is_staff = excluded.is_staff, is_superuser = excluded.is_superuser, date_joined = excluded.date_joined,
         last_login = excluded.last_login, updated_at = ${SQL_NOW}
       WHERE users.legacy_id = excluded.legacy_id`,
    )
    .bind(u.id, u.username, u.email, u.password, u.first_name, u.last_name, +u.is_active, +u.is_staff, +u.is_superuser, u.date_joined, u.last_login);
}

export function upsertFilter(db: D1Database, f: FilterRow): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO saved_filters (id, legacy_id, user_id, file_id, name, description, filter_config, created_at)
       VALUES (?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)
       ON CONFLICT (id) DO UPDATE SET
         user_id = excluded.user_id, file_id = excluded.file_id, name = excluded.name,
         description = excluded.description, filter_config = excluded.filter_config, updated_at = ${SQL_NOW}
       WHERE saved_filters.legacy_id = excluded.legacy_id`,
    )
    .bind(f.id, f.user_id, f.file_id, f.name, f.description, JSON.stringify(f.filter_config), f.created_at);
}

/** Ids (of `table`, column `id`) among `ids` that exist, in chunks within D1's bound-parameter limit. */
export async function existingIds<T extends number | string>(db: D1Database, table: "users" | "files", ids: readonly T[]): Promise<Set<T>> {
  const found = new Set<T>();
  const unique = [...new Set(ids)];
  for (const chunk of idChunks(unique)) {
    const rows = await db
      .prepare(`SELECT id FROM ${table} WHERE id IN (${chunk.map(() => "?").join(", ")})`)
      .bind(...chunk)
      .all<{ id: T }>();
    for (const row of rows.results) found.add(row.id);
  }
  return found;
}
