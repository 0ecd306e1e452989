/** The coordinator's own SQLite schema; created (idempotently) in the Durable Object's constructor. */
export const COORDINATOR_SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  id          TEXT PRIMARY KEY,
  kind        TEXT NOT NULL,
  state       TEXT NOT NULL,
  paused      INTEGER NOT NULL DEFAULT 0,
  export_set  TEXT,
  settings    TEXT NOT NULL,
  plan        TEXT NOT NULL,
  counters    TEXT NOT NULL DEFAULT '{}',
  error       TEXT,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  started_at  INTEGER,
  finished_at INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, created_at);

CREATE TABLE IF NOT EXISTS items (
  job_id        TEXT NOT NULL,
  file_id       TEXT NOT NULL,
  source_path   TEXT,
  r2_key        TEXT NOT NULL,
  expected_size INTEGER,
  payload       TEXT NOT NULL,
  state         TEXT NOT NULL,
  attempts      INTEGER NOT NULL DEFAULT 0,
  not_before    INTEGER NOT NULL DEFAULT 0,
  lease_until   INTEGER,
  bytes         INTEGER,
  sha256        TEXT,
  error         TEXT,
  detail        TEXT,
  PRIMARY KEY (job_id, file_id)
);
CREATE INDEX IF NOT EXISTS items_ready ON items (job_id, state, not_before);
CREATE INDEX IF NOT EXISTS items_leases ON items (job_id, state, lease_until);

CREATE TABLE IF NOT EXISTS row_errors (
  job_id       TEXT NOT NULL,
  export_table TEXT NOT NULL,
  line         INTEGER NOT NULL,
  error        TEXT NOT NULL,
  PRIMARY KEY (job_id, export_table, line)
);
`;
