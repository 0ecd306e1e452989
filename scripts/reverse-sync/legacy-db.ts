import type pg from "pg";
import type { Row } from "./bundle.ts";

export type RowTable = "users" | "files" | "filters";

/** Ids above this are the new app's (it numbers its rows from 1,000,000,001); below, legacy's own. */
export const NEW_APP_ID_FLOOR = 1_000_000_000;

/** The legacy table of each bundle table, and the columns written (as in scripts/legacy-export.sql). */
export const LEGACY_TABLES: Record<RowTable, { name: string; columns: readonly string[] }> = {
  users: { name: "auth_user", columns: ["id", "username", "email", "password", "first_name", "last_name", "date_joined", "last_login", "is_active", "is_staff", "is_superuser"] },
  files: { name: "list_cutter_savedfile", columns: ["id", "user_id", "file_id", "file_name", "file_path", "uploaded_at", "system_tags", "user_tags", "metadata"] },
  filters: { name: "list_cutter_savedfilter", columns: ["id", "user_id", "file_id", "name", "description", "filter_config", "created_at"] },
};

/** Empty means NULL only where the column is nullable; an empty JSON field is an empty object. */
const NULLABLE = new Set(["users.last_login", "filters.file_id"]);
const JSON_COLUMNS = new Set(["files.metadata", "filters.filter_config"]);

const BOOKKEEPING = "list_cutter_reverse_sync";

// Table and column names come from the constants above, never from the bundle; every value is a
// query parameter. PostgreSQL parses the bundle's literals (t/f, {a,"b c"}, JSON text, ISO times)
// with the column's own input function.
function upsertSql(table: RowTable): string {
  const { name, columns } = LEGACY_TABLES[table];
  const updates = columns.filter((c) => c !== "id").map((c) => `${c} = EXCLUDED.${c}`);
  return `INSERT INTO ${name} (${columns.join(", ")}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(", ")})
    ON CONFLICT (id) DO UPDATE SET ${updates.join(", ")}
    RETURNING (xmax = 0) AS inserted`;
}
const UPSERT = { users: upsertSql("users"), files: upsertSql("files"), filters: upsertSql("filters") };

/** Whether an id is legacy's own (not the new app's). */
export function isLegacyRange(id: string): boolean {
  return Number(id) <= NEW_APP_ID_FLOOR;
}

export function legacyId(row: Row, where: string, column = "id"): string {
  const value = row[column]?.trim() ?? "";
  if (!/^[1-9]\d{0,18}$/.test(value)) throw new Error(`${where}: ${column} ${JSON.stringify(value)} is not a positive integer`);
  return value;
}

/** The legacy database, on one connection. */
export class LegacyDb {
  readonly #client: pg.Client;

  constructor(client: pg.Client) {
    this.#client = client;
  }

  async query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = [], where?: string): Promise<pg.QueryResult<R>> {
    try {
      return await this.#client.query<R>(sql, params);
    } catch (error) {
      if (where) (error as Error).message = `${where}: ${(error as Error).message}`;
      throw error;
    }
  }

  /**
   * Creates the bookkeeping table if missing and locks it against other appliers until the
   * transaction ends (readers are not blocked), so two runs cannot both pass the sequence check.
   */
  async lockBookkeeping(): Promise<void> {
    await this.query("SET LOCAL lock_timeout = '30s'");
    await this.query(`CREATE TABLE IF NOT EXISTS ${BOOKKEEPING} (
      job_id text PRIMARY KEY,
      from_seq bigint NOT NULL,
      to_seq bigint NOT NULL,
      applied_at timestamptz NOT NULL
    )`);
    try {
      await this.query(`LOCK TABLE ${BOOKKEEPING} IN SHARE ROW EXCLUSIVE MODE`);
    } catch (error) {
      if ((error as { code?: string }).code === "55P03") throw new Error(`another reverse-sync holds ${BOOKKEEPING} (waited 30 s): wait for it to finish, then run again`);
      throw error;
    }
  }

  /** What was applied before: this job's record (if any) and the highest to_seq so far (0 if none). */
  async appliedState(jobId: string): Promise<{ job: { fromSeq: number; toSeq: number } | null; highestToSeq: number }> {
    const exists = await this.query<{ present: boolean }>("SELECT to_regclass($1) IS NOT NULL AS present", [BOOKKEEPING]);
    if (!exists.rows[0]?.present) return { job: null, highestToSeq: 0 };
    const job = await this.query<{ from_seq: string; to_seq: string }>(`SELECT from_seq, to_seq FROM ${BOOKKEEPING} WHERE job_id = $1`, [jobId]);
    const high = await this.query<{ high: string }>(`SELECT COALESCE(max(to_seq), 0) AS high FROM ${BOOKKEEPING}`);
    const found = job.rows[0];
    return { job: found ? { fromSeq: Number(found.from_seq), toSeq: Number(found.to_seq) } : null, highestToSeq: Number(high.rows[0]?.high ?? 0) };
  }

  async recordApplied(jobId: string, fromSeq: number, toSeq: number): Promise<void> {
    await this.query(`INSERT INTO ${BOOKKEEPING} (job_id, from_seq, to_seq, applied_at) VALUES ($1, $2, $3, now())`, [jobId, fromSeq, toSeq]);
  }

  /**
   * Inserts or updates one row by id; says which. Users are written by the policy of the header
   * comment of scripts/reverse-sync.ts: a legacy user (id up to NEW_APP_ID_FLOOR) only gets its
   * username and email, and only if it is there; a new-app user is never staff or superuser.
   */
  async upsert(table: RowTable, row: Row, where: string): Promise<"inserted" | "updated"> {
    const id = legacyId(row, where);
    if (table !== "users") legacyId(row, where, "user_id");
    if (table === "users" && isLegacyRange(id)) {
      const result = await this.query(`UPDATE auth_user SET username = $2, email = $3 WHERE id = $1`, [id, row.username, row.email], where);
      if (!result.rowCount) throw new Error(`${where}: legacy user ${id} is not in the legacy database, and a user up to id ${NEW_APP_ID_FLOOR} is never inserted`);
      return "updated";
    }
    const values = table === "users" ? { ...row, is_staff: "f", is_superuser: "f" } : row;
    const params = LEGACY_TABLES[table].columns.map((column) => {
      const value = values[column] ?? "";
      if (value === "" && NULLABLE.has(`${table}.${column}`)) return null;
      if (value.trim() === "" && JSON_COLUMNS.has(`${table}.${column}`)) return "{}";
      return value;
    });
    const result = await this.query<{ inserted: boolean }>(UPSERT[table], params, where);
    return result.rows[0]?.inserted ? "inserted" : "updated";
  }

  async exists(table: RowTable, id: string): Promise<boolean> {
    const result = await this.query(`SELECT 1 FROM ${LEGACY_TABLES[table].name} WHERE id = $1`, [id]);
    return (result.rowCount ?? 0) > 0;
  }

  /** A user's username, or null when there is no such user. */
  async username(id: string): Promise<string | null> {
    return (await this.query<{ username: string }>(`SELECT username FROM auth_user WHERE id = $1`, [id])).rows[0]?.username ?? null;
  }

  /** The id of the user other than `exceptId` holding `username` (exactly: Django's unique constraint is case-sensitive), or null. */
  async usernameHolder(username: string, exceptId: string): Promise<string | null> {
    return (await this.query<{ id: string }>(`SELECT id::text FROM auth_user WHERE username = $1 AND id <> $2`, [username, exceptId])).rows[0]?.id ?? null;
  }

  /**
   * Moves a user's username aside (a unique placeholder) until the users of the bundle are written,
   * so that names the bundle passes from one user to another do not collide on the way.
   */
  async parkUsername(id: string): Promise<void> {
    await this.query(`UPDATE auth_user SET username = 'reverse-sync-parked-' || id || '-' || md5(random()::text) WHERE id = $1`, [id]);
  }

  /** A file row's file_path, or null when there is no such row. */
  async filePath(id: string): Promise<string | null> {
    return (await this.query<{ file_path: string }>(`SELECT file_path FROM list_cutter_savedfile WHERE id = $1`, [id])).rows[0]?.file_path ?? null;
  }

  /** Ids of the file rows, other than `exceptId`, whose file_path is `path`. */
  async filesAt(path: string, exceptId: string | null = null): Promise<string[]> {
    const result = await this.query<{ id: string }>(`SELECT id::text FROM list_cutter_savedfile WHERE file_path = $1 AND id IS DISTINCT FROM $2::bigint LIMIT 10`, [path, exceptId]);
    return result.rows.map((r) => r.id);
  }

  /**
   * Deletes one row by id (and, for a file, only if it still has `fileId`); a row that is not there
   * is fine (deleted: false). A deleted file row's file_path comes back: its media goes only with it.
   */
  async delete(table: RowTable, id: string, fileId: string | null, where: string): Promise<{ deleted: boolean; filePath: string | null }> {
    const result =
      table !== "files"
        ? await this.query(`DELETE FROM ${LEGACY_TABLES[table].name} WHERE id = $1`, [id], where)
        : await this.query<{ file_path: string }>(`DELETE FROM list_cutter_savedfile WHERE id = $1 AND file_id::text = $2 RETURNING file_path`, [id, fileId ?? ""], where);
    return { deleted: (result.rowCount ?? 0) > 0, filePath: (result.rows[0] as { file_path?: string } | undefined)?.file_path ?? null };
  }

  /**
   * Moves each id sequence past legacy's own highest id, so that legacy's next row does not collide
   * with one this bundle wrote at an id legacy handed out before. Ids above NEW_APP_ID_FLOOR are
   * the new app's and are left out: a sequence moved into that range would make legacy number its
   * next rows where the new app numbers its own, and a later bundle would then overwrite them.
   * A sequence is never moved back. (setval is not transactional; moving forward on a run that
   * rolls back only skips a few ids.) Returns each table's sequence value.
   */
  async bumpSequences(): Promise<Record<RowTable, number | null>> {
    const values = {} as Record<RowTable, number | null>;
    for (const table of ["users", "files", "filters"] as const) {
      const { name } = LEGACY_TABLES[table];
      const seq = (await this.query<{ seq: string | null }>("SELECT pg_get_serial_sequence($1, 'id') AS seq", [name])).rows[0]?.seq ?? null;
      if (seq === null) throw new Error(`${name}.id has no sequence: cannot keep legacy's next ids clear of the bundle's`);
      const result = await this.query<{ value: string | null }>(
        `SELECT setval($1::regclass, GREATEST(pg_sequence_last_value($1::regclass), (SELECT max(id) FROM ${name} WHERE id <= $2))) AS value`,
        [seq, NEW_APP_ID_FLOOR],
      );
      const value = result.rows[0]?.value;
      values[table] = value === null || value === undefined ? null : Number(value);
    }
    return values;
  }
}
