import { FINISHED_RUN_STATES, type RunRecord } from "./cutover-run-model";

/** Cutover runs in the coordinator's SQLite (table `cutover_runs`): one JSON record per run. */
export class RunStore {
  constructor(private readonly sql: SqlStorage) {}

  /** The newest run, finished or not. */
  latest(): RunRecord | null {
    return this.#one(`SELECT record FROM cutover_runs ORDER BY created_at DESC, rowid DESC LIMIT 1`);
  }

  /** The run still running or paused, if any (there is at most one). */
  unfinished(): RunRecord | null {
    const finished = FINISHED_RUN_STATES.map(() => "?").join(", ");
    return this.#one(`SELECT record FROM cutover_runs WHERE state NOT IN (${finished}) ORDER BY created_at DESC LIMIT 1`, ...FINISHED_RUN_STATES);
  }

  save(run: RunRecord): void {
    this.sql.exec(
      `INSERT INTO cutover_runs (id, state, record, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
       ON CONFLICT (id) DO UPDATE SET state = excluded.state, record = excluded.record, updated_at = excluded.updated_at`,
      run.id,
      run.state,
      JSON.stringify(run),
      run.createdAt,
      run.updatedAt,
    );
  }

  #one(query: string, ...bindings: unknown[]): RunRecord | null {
    const row = this.sql.exec<{ record: string }>(query, ...bindings).toArray()[0];
    return row ? (JSON.parse(row.record) as RunRecord) : null;
  }
}

/** Export uploads (table `export_uploads`), so that a run finds a complete export set uploaded after a moment. */
export class ExportUploads {
  constructor(private readonly sql: SqlStorage) {}

  record(set: string, table: string, uploadedAt: number, bytes: number): void {
    this.sql.exec(
      `INSERT INTO export_uploads (export_set, tbl, uploaded_at, bytes) VALUES (?1, ?2, ?3, ?4)
       ON CONFLICT (export_set, tbl) DO UPDATE SET uploaded_at = excluded.uploaded_at, bytes = excluded.bytes`,
      set,
      table,
      uploadedAt,
      bytes,
    );
  }

  /**
   * The newest set that has every one of `required` tables and whose tables were all uploaded after
   * `after` (ms): its oldest table's upload time is how old its data may be (as a job's exportedAt).
   */
  newestComplete(required: readonly string[], after: number): { set: string; uploadedAt: number } | null {
    const row = this.sql
      .exec<{ export_set: string; oldest: number }>(
        `SELECT export_set, min(uploaded_at) AS oldest FROM export_uploads
         GROUP BY export_set HAVING sum(tbl IN (${required.map(() => "?").join(", ")})) = ? AND min(uploaded_at) > ?
         ORDER BY oldest DESC LIMIT 1`,
        ...required,
        required.length,
        after,
      )
      .toArray()[0];
    return row ? { set: row.export_set, uploadedAt: row.oldest } : null;
  }
}
