import { idChunks } from "../lib/d1";
import type { SyncedTable } from "../sync/three-way-merge";
import type { ConflictDetails, ConflictField, ConflictState, ConflictView } from "./model";

/** The failure reason each kind of conflict is listed under. */
export const CONFLICT_REASONS: Readonly<Record<ConflictField, string>> = {
  username: "username_taken",
  email: "email_taken",
  fields: "changed_on_both_sides",
};

export type NewConflict = {
  [F in ConflictField]: { table: SyncedTable; rowKey: string; field: F; detail: ConflictDetails[F]; line: number | null };
}[ConflictField];

interface ConflictRow {
  id: number;
  tbl: string;
  row_key: string;
  field: ConflictField;
  detail: string;
  summary: string;
  state: ConflictState;
  resolution: string | null;
  job_ids: string;
  created_at: number;
  updated_at: number;
  resolved_at: number | null;
  [key: string]: SqlStorageValue;
}

const reasonSql = `CASE c.field ${Object.entries(CONFLICT_REASONS)
  .map(([field, reason]) => `WHEN '${field}' THEN '${reason}'`)
  .join(" ")} END`;

/**
 * The conflicts a job met, as Ledger.failures lists them (kind 'conflict'), for job ?1. Columns:
 * kind, file_id, tbl, line, source, reason, detail, attempts, conflict_id.
 */
export const CONFLICT_FAILURES_SQL = `
  SELECT 'conflict' AS kind, CASE WHEN c.tbl = 'files' THEN c.row_key END AS file_id, c.tbl, s.line, NULL AS source, ${reasonSql} AS reason,
         'conflict #' || c.id || ': ' || c.summary ||
           CASE WHEN c.state = 'resolved' THEN ' [resolved: ' || coalesce(json_extract(c.resolution, '$.action'), '?') || ']' ELSE '' END AS detail,
         0 AS attempts, c.id AS conflict_id
    FROM conflict_sightings s JOIN conflicts c ON c.id = s.conflict_id WHERE s.job_id = ?1`;

/**
 * Import conflicts (coordinator SQLite, schema migration 5): what an import could not decide, kept
 * until the operator resolves it, with every job that met it. At most one is open per row and kind:
 * a later job updates it (a field conflict gains the new fields) instead of adding another.
 * Also holds the operator's rename-legacy decisions, which the user import applies.
 */
export class ConflictStore {
  constructor(private readonly sql: SqlStorage) {}

  /** Records (or updates) the open conflict and notes that `jobId` met it; returns its id. */
  record(jobId: string, conflict: NewConflict, now: number): number {
    const open = this.sql
      .exec<{ id: number; detail: string }>(`SELECT id, detail FROM conflicts WHERE tbl = ? AND row_key = ? AND field = ? AND state = 'open'`, conflict.table, conflict.rowKey, conflict.field)
      .toArray()[0];
    const detail = open && conflict.field === "fields" ? { fields: { ...(JSON.parse(open.detail) as ConflictDetails["fields"]).fields, ...conflict.detail.fields } } : conflict.detail;
    const summary = summarize({ ...conflict, detail } as NewConflict);
    let id: number;
    if (open) {
      this.sql.exec(`UPDATE conflicts SET detail = ?, summary = ?, updated_at = ? WHERE id = ?`, JSON.stringify(detail), summary, now, open.id);
      id = open.id;
    } else {
      id = this.sql
        .exec<{ id: number }>(
          `INSERT INTO conflicts (job_id, tbl, row_key, field, detail, summary, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
          jobId,
          conflict.table,
          conflict.rowKey,
          conflict.field,
          JSON.stringify(detail),
          summary,
          now,
          now,
        )
        .one().id;
    }
    this.sql.exec(
      `INSERT INTO conflict_sightings (conflict_id, job_id, line) VALUES (?, ?, ?) ON CONFLICT (job_id, conflict_id) DO UPDATE SET line = excluded.line`,
      id,
      jobId,
      conflict.line,
    );
    return id;
  }

  /** Closes an open conflict that an import has since settled (a username that became free). */
  settle(table: SyncedTable, rowKey: string, field: ConflictField, jobId: string, now: number): void {
    this.sql.exec(
      `UPDATE conflicts SET state = 'resolved', resolution = ?, resolved_at = ?, updated_at = ? WHERE tbl = ? AND row_key = ? AND field = ? AND state = 'open'`,
      JSON.stringify({ action: "imported", jobId }),
      now,
      now,
      table,
      rowKey,
      field,
    );
  }

  /** Marks an open conflict resolved; false if it is not open (resolved meanwhile). */
  resolve(id: number, resolution: unknown, now: number): boolean {
    return (
      this.sql.exec(`UPDATE conflicts SET state = 'resolved', resolution = ?, resolved_at = ?, updated_at = ? WHERE id = ? AND state = 'open' RETURNING id`, JSON.stringify(resolution), now, now, id).toArray()
        .length > 0
    );
  }

  /** Legacy users (among `userIds`) left out of D1 by an open username conflict, with that conflict's id. */
  blockedUsers(userIds: readonly number[]): Map<number, number> {
    const blocked = new Map<number, number>();
    for (const chunk of idChunks([...new Set(userIds)].map(String))) {
      const rows = this.sql.exec<{ id: number; row_key: string }>(
        `SELECT id, row_key FROM conflicts WHERE tbl = 'users' AND field = 'username' AND state = 'open'
           AND json_extract(detail, '$.imported') = 0 AND row_key IN (${chunk.map(() => "?").join(", ")})`,
        ...chunk,
      );
      for (const row of rows) blocked.set(Number(row.row_key), row.id);
    }
    return blocked;
  }

  get(id: number): ConflictView | null {
    const row = this.sql.exec<ConflictRow>(`${SELECT_VIEW} WHERE c.id = ?`, id).toArray()[0];
    return row ? view(row) : null;
  }

  list(state: ConflictState | undefined, limit: number, offset: number): ConflictView[] {
    return this.sql
      .exec<ConflictRow>(`${SELECT_VIEW} WHERE ?1 IS NULL OR c.state = ?1 ORDER BY c.id LIMIT ?2 OFFSET ?3`, state ?? null, limit, offset)
      .toArray()
      .map(view);
  }

  /** The conflicts `jobId` met, and how many of them are still open. */
  counts(jobId: string): { open: number; total: number } {
    return this.sql
      .exec<{ open: number; total: number }>(
        `SELECT coalesce(sum(c.state = 'open'), 0) AS open, count(*) AS total FROM conflict_sightings s JOIN conflicts c ON c.id = s.conflict_id WHERE s.job_id = ?`,
        jobId,
      )
      .one();
  }

  /** rename-legacy decisions for these legacy users: imported as `username` while legacy calls them `legacyUsername`. */
  renamesFor(userIds: readonly number[]): Map<number, { legacyUsername: string; username: string }> {
    const renames = new Map<number, { legacyUsername: string; username: string }>();
    for (const chunk of idChunks([...new Set(userIds)])) {
      const rows = this.sql.exec<{ legacy_user_id: number; legacy_username: string; username: string }>(
        `SELECT legacy_user_id, legacy_username, username FROM import_renames WHERE legacy_user_id IN (${chunk.map(() => "?").join(", ")})`,
        ...chunk,
      );
      for (const row of rows) renames.set(row.legacy_user_id, { legacyUsername: row.legacy_username, username: row.username });
    }
    return renames;
  }

  /** The legacy user another rename-legacy already gave `username`, if any. */
  renamedTo(username: string): number | null {
    return this.sql.exec<{ legacy_user_id: number }>(`SELECT legacy_user_id FROM import_renames WHERE username = ?`, username).toArray()[0]?.legacy_user_id ?? null;
  }

  /**
   * A username conflict of another legacy user than `legacyUserId` whose legacy user waits for
   * `username` (the name it is to be imported under, or legacy's name for it): one still open, or one
   * resolved by rename-new since the last full or delta job was created (its legacy user takes the
   * name at the next one). Giving that name to anyone else would only reopen the conflict.
   */
  waitingFor(username: string, legacyUserId: number): { conflictId: number; legacyUserId: number } | null {
    const row = this.sql
      .exec<{ id: number; row_key: string }>(
        `SELECT id, row_key FROM conflicts
          WHERE tbl = 'users' AND field = 'username' AND row_key != ?1
            AND (json_extract(detail, '$.username') = ?2 OR json_extract(detail, '$.legacyUsername') = ?2)
            AND (state = 'open' OR (json_extract(resolution, '$.action') = 'rename-new'
                                    AND resolved_at >= coalesce((SELECT max(created_at) FROM jobs WHERE kind IN ('full', 'delta')), 0)))
          ORDER BY id LIMIT 1`,
        String(legacyUserId),
        username,
      )
      .toArray()[0];
    return row ? { conflictId: row.id, legacyUserId: Number(row.row_key) } : null;
  }

  recordRename(legacyUserId: number, legacyUsername: string, username: string, now: number): void {
    this.sql.exec(
      `INSERT INTO import_renames (legacy_user_id, legacy_username, username, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (legacy_user_id) DO UPDATE SET legacy_username = excluded.legacy_username, username = excluded.username, created_at = excluded.created_at`,
      legacyUserId,
      legacyUsername,
      username,
      now,
    );
  }
}

const SELECT_VIEW = `
  SELECT c.*, (SELECT group_concat(job_id) FROM (SELECT s.job_id FROM conflict_sightings s JOIN jobs j ON j.id = s.job_id
                                                 WHERE s.conflict_id = c.id ORDER BY j.created_at)) AS job_ids
    FROM conflicts c`;

function view(row: ConflictRow): ConflictView {
  return {
    id: row.id,
    table: row.tbl,
    rowKey: row.row_key,
    field: row.field,
    reason: CONFLICT_REASONS[row.field],
    state: row.state,
    summary: row.summary,
    detail: JSON.parse(row.detail),
    resolution: row.resolution === null ? null : JSON.parse(row.resolution),
    jobIds: row.job_ids ? row.job_ids.split(",") : [],
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    resolvedAt: row.resolved_at === null ? null : new Date(row.resolved_at).toISOString(),
  };
}

/** One line for the failures list: what clashed, and what the import did about it. */
function summarize(conflict: NewConflict): string {
  switch (conflict.field) {
    case "username": {
      const { legacyUserId, username, heldBy, imported } = conflict.detail;
      const holder = `user ${heldBy.id} (${heldBy.legacyId === null ? "created on the new app" : "imported from legacy"})`;
      return `legacy user ${legacyUserId}: username '${username}' is held by ${holder}; ${imported ? "its username change is not applied" : "not imported"}`;
    }
    case "email": {
      const { legacyUserId, email, heldBy } = conflict.detail;
      return `legacy user ${legacyUserId}: email '${email}' is held by new-app user ${heldBy.id} ('${heldBy.username}'); imported anyway`;
    }
    case "fields":
      return `${conflict.table} ${conflict.rowKey}: changed on both sides (${Object.keys(conflict.detail.fields).join(", ")}); the new app's values kept`;
  }
}

/** A conflict as the operator API shows it: password hashes reduced to their algorithm and work factor. */
export function publicView(conflict: ConflictView): ConflictView {
  if (conflict.field !== "fields") return conflict;
  const fields = (conflict.detail as ConflictDetails["fields"]).fields;
  if (!fields.password_hash) return conflict;
  const hidden = (v: unknown) => (typeof v === "string" ? `${v.split("$").slice(0, 2).join("$")}$…` : v);
  const { base, local, remote } = fields.password_hash;
  return { ...conflict, detail: { fields: { ...fields, password_hash: { base: hidden(base), local: hidden(local), remote: hidden(remote) } } } };
}
