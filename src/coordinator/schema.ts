import type { Migration } from "../lib/do-migrations";

/** Migration 1: the schema as it stood before it was versioned (ledger, cutover state, request metrics). */
const INITIAL_SCHEMA = `
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

-- Per job and item state: how many items, their copied bytes and their known bytes (copied, or
-- else declared). Kept by the triggers below in the same transaction as every item change, so a job
-- view reads a few rows instead of scanning every item.
CREATE TABLE IF NOT EXISTS item_totals (
  job_id      TEXT NOT NULL,
  state       TEXT NOT NULL,
  n           INTEGER NOT NULL DEFAULT 0,
  bytes       INTEGER NOT NULL DEFAULT 0,
  known_bytes INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (job_id, state)
);
CREATE TRIGGER IF NOT EXISTS item_totals_insert AFTER INSERT ON items BEGIN
  INSERT OR IGNORE INTO item_totals (job_id, state) VALUES (NEW.job_id, NEW.state);
  UPDATE item_totals SET n = n + 1, bytes = bytes + coalesce(NEW.bytes, 0), known_bytes = known_bytes + coalesce(NEW.bytes, NEW.expected_size, 0)
  WHERE job_id = NEW.job_id AND state = NEW.state;
END;
CREATE TRIGGER IF NOT EXISTS item_totals_update AFTER UPDATE OF state, bytes, expected_size ON items BEGIN
  UPDATE item_totals SET n = n - 1, bytes = bytes - coalesce(OLD.bytes, 0), known_bytes = known_bytes - coalesce(OLD.bytes, OLD.expected_size, 0)
  WHERE job_id = OLD.job_id AND state = OLD.state;
  INSERT OR IGNORE INTO item_totals (job_id, state) VALUES (NEW.job_id, NEW.state);
  UPDATE item_totals SET n = n + 1, bytes = bytes + coalesce(NEW.bytes, 0), known_bytes = known_bytes + coalesce(NEW.bytes, NEW.expected_size, 0)
  WHERE job_id = NEW.job_id AND state = NEW.state;
END;
CREATE TRIGGER IF NOT EXISTS item_totals_delete AFTER DELETE ON items BEGIN
  UPDATE item_totals SET n = n - 1, bytes = bytes - coalesce(OLD.bytes, 0), known_bytes = known_bytes - coalesce(OLD.bytes, OLD.expected_size, 0)
  WHERE job_id = OLD.job_id AND state = OLD.state;
END;

CREATE TABLE IF NOT EXISTS row_errors (
  job_id       TEXT NOT NULL,
  export_table TEXT NOT NULL,
  line         INTEGER NOT NULL,
  error        TEXT NOT NULL,
  PRIMARY KEY (job_id, export_table, line)
);

CREATE TABLE IF NOT EXISTS cutover_state (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS request_metrics (
  window_start INTEGER NOT NULL,
  backend      TEXT    NOT NULL,
  version      INTEGER NOT NULL,
  requests     INTEGER NOT NULL,
  errors       INTEGER NOT NULL,
  histogram    TEXT    NOT NULL,
  flushes      INTEGER NOT NULL,
  PRIMARY KEY (window_start, backend, version)
);
`;

/**
 * The MigrationCoordinator's SQLite schema, in order (see lib/do-migrations.ts). Append; never edit
 * a migration that has been deployed.
 */
export const COORDINATOR_MIGRATIONS: readonly Migration[] = [
  { version: 1, description: "jobs, items and their totals, row errors, cutover state, request metrics", sql: INITIAL_SCHEMA },
  {
    version: 2,
    description: "item totals counted from the items (a ledger from before item_totals has none)",
    sql: `
      DELETE FROM item_totals;
      INSERT INTO item_totals (job_id, state, n, bytes, known_bytes)
        SELECT job_id, state, count(*), coalesce(sum(bytes), 0), coalesce(sum(coalesce(bytes, expected_size)), 0) FROM items GROUP BY job_id, state;`,
  },
  {
    version: 3,
    description: "wake-ups per reason (coordinator/wakeups.ts)",
    // An object upgraded with its alarm set runs every reason once at that alarm, which re-plans each.
    sql: `
      CREATE TABLE IF NOT EXISTS wakeups (
        reason   TEXT PRIMARY KEY,
        at       INTEGER,                    -- when it wants to run (ms); NULL: not until asked
        failures INTEGER NOT NULL DEFAULT 0  -- its runs that threw, in a row
      );
      INSERT OR IGNORE INTO wakeups (reason, at) VALUES ('job', 0), ('cutover', 0);`,
  },
  {
    version: 4,
    description: "audit entries waiting for D1 (coordinator/audit-outbox.ts)",
    sql: `
      CREATE TABLE IF NOT EXISTS audit_outbox (
        id         INTEGER PRIMARY KEY,
        actor      TEXT NOT NULL,
        action     TEXT NOT NULL,
        target     TEXT,
        details    TEXT NOT NULL,
        created_at TEXT NOT NULL               -- ISO 8601, as D1 audit_logs holds it
      );`,
  },
  {
    version: 5,
    description: "import conflicts, the jobs that met them, and legacy users imported under another name (coordinator/conflicts.ts)",
    sql: `
      CREATE TABLE IF NOT EXISTS conflicts (
        id          INTEGER PRIMARY KEY,
        job_id      TEXT NOT NULL,             -- the job that found it first
        tbl         TEXT NOT NULL,             -- users | files | saved_filters
        row_key     TEXT NOT NULL,             -- the legacy user or filter id, or the file_id
        field       TEXT NOT NULL,             -- username | email | fields
        detail      TEXT NOT NULL,             -- JSON: both sides' values, the other user's id
        summary     TEXT NOT NULL,             -- one line for the failures list
        state       TEXT NOT NULL DEFAULT 'open',
        resolution  TEXT,                      -- JSON: the operator's action, or the import that settled it
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        resolved_at INTEGER
      );
      -- At most one open conflict per row and kind: a later job updates it instead of adding another.
      CREATE UNIQUE INDEX IF NOT EXISTS conflicts_open ON conflicts (tbl, row_key, field) WHERE state = 'open';
      CREATE INDEX IF NOT EXISTS conflicts_by_state ON conflicts (state, id);

      -- Every job that met a conflict, with the export line, so each job's failures list it.
      CREATE TABLE IF NOT EXISTS conflict_sightings (
        conflict_id INTEGER NOT NULL,
        job_id      TEXT NOT NULL,
        line        INTEGER,
        PRIMARY KEY (job_id, conflict_id)
      );

      -- rename-legacy: legacy user N, while legacy still calls it legacy_username, is imported as username.
      CREATE TABLE IF NOT EXISTS import_renames (
        legacy_user_id  INTEGER PRIMARY KEY,
        legacy_username TEXT NOT NULL,
        username        TEXT NOT NULL UNIQUE,
        created_at      INTEGER NOT NULL
      );`,
  },
  {
    version: 6,
    description: "reverse-sync bundles: the outbox rows each reverse job ships, and the bundles applied to legacy (coordinator/reverse-store.ts)",
    sql: `
      -- The latest outbox entry per row in a reverse job's range, and what its bundle line shipped.
      CREATE TABLE IF NOT EXISTS reverse_rows (
        job_id     TEXT    NOT NULL,
        tbl        TEXT    NOT NULL,           -- the outbox table: users | files | saved_filters
        row_id     TEXT    NOT NULL,
        seq        INTEGER NOT NULL,           -- its latest outbox entry in the range
        op         TEXT    NOT NULL,           -- upsert | delete
        part_table TEXT    NOT NULL,           -- the bundle table its line goes to: users | files | filters | deletions
        snapshot   TEXT,
        shipped    TEXT,                       -- JSON: the synced fields its line carried (upserts; NULL: not shipped)
        PRIMARY KEY (job_id, tbl, row_id)
      );
      CREATE INDEX IF NOT EXISTS reverse_rows_by_part ON reverse_rows (job_id, part_table, seq);
      CREATE INDEX IF NOT EXISTS reverse_rows_by_seq ON reverse_rows (job_id, seq);

      -- Bundles the operator reported applied to legacy, and the round trip marking their rows in D1.
      CREATE TABLE IF NOT EXISTS reverse_applied (
        job_id       TEXT PRIMARY KEY,
        to_seq       INTEGER NOT NULL,
        applied_at   INTEGER NOT NULL,
        actor        TEXT    NOT NULL,
        marked_after INTEGER NOT NULL DEFAULT 0,  -- the round trip's cursor: seq of the last row marked
        marked       INTEGER NOT NULL DEFAULT 0,  -- rows marked so far
        marked_at    INTEGER                      -- when every shipped row was marked
      );`,
  },
  {
    version: 7,
    description: "cutover runs (coordinator/cutover-run.ts), export uploads (which sets are complete, and when), items copied or found identical, wake-up fallbacks",
    sql: `
      -- One cutover run per row: its plan, stages and reports (JSON), at most one running or paused.
      CREATE TABLE IF NOT EXISTS cutover_runs (
        id         TEXT PRIMARY KEY,
        state      TEXT    NOT NULL,           -- running | paused | completed | rolled_back | failed | aborted
        record     TEXT    NOT NULL,           -- JSON: plan, stages, validation report
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS cutover_runs_by_created ON cutover_runs (created_at);

      -- Every export table upload (PUT /admin/exports/:set/:table), last upload wins.
      CREATE TABLE IF NOT EXISTS export_uploads (
        export_set  TEXT    NOT NULL,
        tbl         TEXT    NOT NULL,
        uploaded_at INTEGER NOT NULL,
        bytes       INTEGER NOT NULL,
        PRIMARY KEY (export_set, tbl)
      );

      -- 1: the consumer found the object already in R2 with the same content and did not rewrite it.
      ALTER TABLE items ADD COLUMN identical INTEGER NOT NULL DEFAULT 0;

      -- While a reason's handler runs: when to run it again if the run is cut short (wakeups.ts).
      ALTER TABLE wakeups ADD COLUMN fallback_at INTEGER;`,
  },
  {
    version: 8,
    description: "request counters per backend and status class, and a cumulative latency histogram (coordinator/request-metrics.ts)",
    sql: `
      -- Every answer the gates counted, since this migration: never pruned, only added to.
      CREATE TABLE IF NOT EXISTS request_totals (
        backend      TEXT    NOT NULL,
        status_class TEXT    NOT NULL,   -- 1xx … 5xx
        answers      INTEGER NOT NULL,
        PRIMARY KEY (backend, status_class)
      );
      -- The judged requests' latencies (those without a body), cumulative: the OpenMetrics histogram.
      CREATE TABLE IF NOT EXISTS latency_totals (
        backend   TEXT PRIMARY KEY,
        histogram TEXT NOT NULL,         -- JSON: counts per LATENCY_BOUNDS_MS bucket
        sum_ms    REAL NOT NULL
      );`,
  },
  {
    version: 9,
    description: "the storage's epoch, which relays use to tell a wiped coordinator's versions apart (relay/snapshot.ts)",
    sql: `
      CREATE TABLE IF NOT EXISTS instance (id INTEGER PRIMARY KEY CHECK (id = 1), epoch TEXT NOT NULL);
      INSERT OR IGNORE INTO instance (id, epoch) VALUES (1, lower(hex(randomblob(16))));`,
  },
  {
    version: 10,
    description: "metric batches already counted, by id (a relay's retried flush is counted once)",
    sql: `
      CREATE TABLE IF NOT EXISTS metric_batches (
        id          TEXT PRIMARY KEY,
        received_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS metric_batches_by_time ON metric_batches (received_at);`,
  },
  {
    version: 11,
    description: "alerts: conditions firing, their events, channels, deliveries (alerts/store.ts)",
    sql: `
      CREATE TABLE IF NOT EXISTS alerts (
        key        TEXT PRIMARY KEY,
        kind       TEXT NOT NULL,
        severity   TEXT NOT NULL,
        summary    TEXT NOT NULL,
        details    TEXT NOT NULL,
        state      TEXT NOT NULL,
        since      INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS alerts_by_state ON alerts (state);
      CREATE TABLE IF NOT EXISTS alert_events (
        seq      INTEGER PRIMARY KEY AUTOINCREMENT,
        id       TEXT NOT NULL UNIQUE,
        key      TEXT NOT NULL,
        kind     TEXT NOT NULL,
        severity TEXT NOT NULL,
        action   TEXT NOT NULL,
        summary  TEXT NOT NULL,
        details  TEXT NOT NULL,
        at       INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS alert_events_by_key ON alert_events (key, seq);
      CREATE TABLE IF NOT EXISTS alert_channels (
        id           TEXT PRIMARY KEY,
        kind         TEXT NOT NULL,
        name         TEXT NOT NULL,
        target       TEXT NOT NULL,
        sealed       TEXT NOT NULL,
        min_severity TEXT NOT NULL,
        created_at   INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS alert_deliveries (
        event_id   TEXT NOT NULL,
        channel_id TEXT NOT NULL,
        state      TEXT NOT NULL,
        attempts   INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (event_id, channel_id)
      );
      CREATE INDEX IF NOT EXISTS alert_deliveries_queued ON alert_deliveries (state);
      CREATE TABLE IF NOT EXISTS alert_progress (
        job_id    TEXT PRIMARY KEY,
        signature TEXT NOT NULL,
        since     INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS alert_signals (
        name TEXT PRIMARY KEY,
        at   INTEGER NOT NULL
      );`,
  },
  {
    version: 12,
    description: "failed items by file id, and by reason and file id: keyset pages of a job's failures read only them",
    sql: `
      CREATE INDEX IF NOT EXISTS items_failed ON items (job_id, file_id) WHERE state = 'failed';
      CREATE INDEX IF NOT EXISTS items_failed_by_reason ON items (job_id, error, file_id) WHERE state = 'failed';`,
  },
];
