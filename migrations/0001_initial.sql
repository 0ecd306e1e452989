-- List Cutter on D1. Rows imported from the legacy Django database keep their legacy primary key
-- (users.id = auth_user.id, files.id = savedfile.file_id, saved_filters.id = filter id) and carry it
-- again in a UNIQUE legacy_id column, so every import is an upsert and legacy JWT user_id claims
-- stay valid. Rows created by the new app have legacy_id NULL.

CREATE TABLE users (
  id            INTEGER PRIMARY KEY,
  legacy_id     INTEGER UNIQUE,
  username      TEXT    NOT NULL UNIQUE,
  email         TEXT    NOT NULL DEFAULT '',
  password_hash TEXT    NOT NULL,
  first_name    TEXT    NOT NULL DEFAULT '',
  last_name     TEXT    NOT NULL DEFAULT '',
  is_active     INTEGER NOT NULL DEFAULT 1,
  is_staff      INTEGER NOT NULL DEFAULT 0,
  is_superuser  INTEGER NOT NULL DEFAULT 0,
  date_joined   TEXT    NOT NULL,
  last_login    TEXT,
  created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX idx_users_email ON users (email);

CREATE TABLE files (
  id               TEXT    PRIMARY KEY,
  legacy_id        INTEGER UNIQUE,
  user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  file_name        TEXT    NOT NULL,
  r2_key           TEXT    NOT NULL UNIQUE,
  size             INTEGER NOT NULL,
  checksum         TEXT    NOT NULL,
  mime_type        TEXT    NOT NULL DEFAULT 'text/csv',
  row_count        INTEGER,
  column_count     INTEGER,
  columns_metadata TEXT    NOT NULL DEFAULT '[]',
  system_tags      TEXT    NOT NULL DEFAULT '[]',
  user_tags        TEXT    NOT NULL DEFAULT '[]',
  metadata         TEXT    NOT NULL DEFAULT '{}',
  legacy_file_path TEXT,
  uploaded_at      TEXT    NOT NULL,
  migrated_at      TEXT,
  created_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX idx_files_user_uploaded ON files (user_id, uploaded_at);
CREATE INDEX idx_files_checksum ON files (checksum);

CREATE TABLE saved_filters (
  id            INTEGER PRIMARY KEY,
  legacy_id     INTEGER UNIQUE,
  user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  file_id       TEXT,
  name          TEXT    NOT NULL,
  description   TEXT    NOT NULL DEFAULT '',
  filter_config TEXT    NOT NULL DEFAULT '{}',
  created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX idx_saved_filters_user ON saved_filters (user_id);
CREATE INDEX idx_saved_filters_file ON saved_filters (file_id);

CREATE TABLE audit_logs (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  actor      TEXT NOT NULL,
  action     TEXT NOT NULL,
  target     TEXT,
  details    TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX idx_audit_logs_created ON audit_logs (created_at);
CREATE INDEX idx_audit_logs_action ON audit_logs (action, created_at);
