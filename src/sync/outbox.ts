/**
 * The outbox (migrations/0004_outbox.sql): one row for every write the new app makes to a table
 * legacy also has, added in the same D1 batch as the write, so that a `reverse` job can take it back
 * to legacy (reverse-bundle.ts) and a rollback loses nothing. Each statement here selects the row it
 * records from the table itself (INSERT ... SELECT), in the batch, after the write (before it, for a
 * delete): a write that changes no row records nothing, an id assigned by the write is read back,
 * and a batch that fails records nothing.
 *
 * Conflict resolutions that change a user on the new side only (rename-new) are recorded too.
 * Not recorded: writes by migration jobs (imports, the copy consumer), which bring legacy's own
 * rows; resolutions that write legacy's values (keep-legacy) or that the operator also runs on
 * legacy (rename-legacy: its legacySql); and a login's last_login touch and upward password re-hash (accounts.ts), because legacy's
 * own values stay valid there (its password hash verifies the same password; last_login merges as
 * "the later of the two").
 */

export type OutboxTable = "users" | "files" | "saved_filters";
export type OutboxOp = "upsert" | "delete";

/** What a file's delete leaves for the bundle: the legacy integer id (num), file_id and media path. */
export interface FileSnapshot {
  id: number;
  file_id: string;
  relative_path: string;
}

/** What a saved filter's delete leaves for the bundle. */
export interface FilterSnapshot {
  id: number;
}

/** A user just registered, found by its (unique) username, since its id is assigned in the same batch. */
export function recordRegistration(db: D1Database, username: string): D1PreparedStatement {
  return db
    .prepare(`INSERT INTO outbox (tbl, row_id, op, user_id) SELECT 'users', CAST(id AS TEXT), 'upsert', id FROM users WHERE username = ?`)
    .bind(username);
}

/**
 * A user's row changed by an operator's conflict resolution on the new side (rename-new of a
 * username or email): legacy, which may already hold the user, needs the change too.
 */
export function recordUserUpsert(db: D1Database, userId: number): D1PreparedStatement {
  return db.prepare(`INSERT INTO outbox (tbl, row_id, op, user_id) SELECT 'users', CAST(id AS TEXT), 'upsert', id FROM users WHERE id = ?`).bind(userId);
}

/** A file of `userId` written (inserted or changed): run after the write. */
export function recordFileUpsert(db: D1Database, fileId: string, userId: number): D1PreparedStatement {
  return db
    .prepare(`INSERT INTO outbox (tbl, row_id, op, user_id) SELECT 'files', id, 'upsert', user_id FROM files WHERE id = ? AND user_id = ?`)
    .bind(fileId, userId);
}

/** A file of `userId` about to be deleted: run before the delete, in its batch. */
export function recordFileDelete(db: D1Database, fileId: string, userId: number, snapshot: FileSnapshot): D1PreparedStatement {
  return db
    .prepare(`INSERT INTO outbox (tbl, row_id, op, user_id, snapshot) SELECT 'files', id, 'delete', user_id, ? FROM files WHERE id = ? AND user_id = ?`)
    .bind(JSON.stringify(snapshot), fileId, userId);
}

/**
 * A saved filter of `userId` written: run after the write. `id` null: the filter just created, the
 * highest id (new filters are numbered max + 1, and D1 runs one batch at a time).
 */
export function recordFilterUpsert(db: D1Database, id: number | null, userId: number): D1PreparedStatement {
  const where = id === null ? `id = (SELECT max(id) FROM saved_filters)` : `id = ?`;
  return db
    .prepare(`INSERT INTO outbox (tbl, row_id, op, user_id) SELECT 'saved_filters', CAST(id AS TEXT), 'upsert', user_id FROM saved_filters WHERE ${where} AND user_id = ?`)
    .bind(...(id === null ? [] : [id]), userId);
}

/** A saved filter of `userId` about to be deleted: run before the delete, in its batch. */
export function recordFilterDelete(db: D1Database, id: number, userId: number): D1PreparedStatement {
  const snapshot: FilterSnapshot = { id };
  return db
    .prepare(`INSERT INTO outbox (tbl, row_id, op, user_id, snapshot) SELECT 'saved_filters', CAST(id AS TEXT), 'delete', user_id, ? FROM saved_filters WHERE id = ? AND user_id = ?`)
    .bind(JSON.stringify(snapshot), id, userId);
}

/** The highest sequence number the outbox holds (0 when empty). */
export async function lastOutboxSeq(db: D1Database): Promise<number> {
  const row = await db.prepare(`SELECT coalesce(max(seq), 0) AS seq FROM outbox`).first<{ seq: number }>();
  return row?.seq ?? 0;
}

export interface OutboxEntry {
  seq: number;
  tbl: OutboxTable;
  row_id: string;
  op: OutboxOp;
  user_id: number;
  snapshot: string | null;
}

/** Entries in (afterSeq, toSeq], in order, at most `limit`. */
export async function readOutbox(db: D1Database, afterSeq: number, toSeq: number, limit: number): Promise<OutboxEntry[]> {
  const rows = await db
    .prepare(`SELECT seq, tbl, row_id, op, user_id, snapshot FROM outbox WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`)
    .bind(afterSeq, toSeq, limit)
    .all<OutboxEntry>();
  return rows.results;
}
