-- Reverse sync: every write the new app makes to a table legacy also has (registration; file upload,
-- save_generated_file, delete, update_tags; saved filter create, update, delete) adds one row here
-- in the same D1 batch as the write, so a `reverse` job can bundle the changes after a sequence
-- number for legacy (src/sync/outbox.ts, src/sync/reverse-bundle-format.ts). Writes by migration
-- jobs (imports, the copy consumer) and a login's last_login touch or upward re-hash are not recorded.
-- tbl/row_id: the row (row_id as text: users and saved_filters their integer id, files the file_id
-- uuid); op: its latest change; user_id: the acting user (the gate asks whether a user has writes
-- after a sequence number); snapshot: for deletes, JSON of what the bundle needs once the row is
-- gone (files: {id: num, file_id, relative_path}; saved_filters: {id}).
CREATE TABLE outbox (
  seq      INTEGER PRIMARY KEY AUTOINCREMENT,
  tbl      TEXT    NOT NULL CHECK (tbl IN ('users', 'files', 'saved_filters')),
  row_id   TEXT    NOT NULL,
  op       TEXT    NOT NULL CHECK (op IN ('upsert', 'delete')),
  user_id  INTEGER NOT NULL,
  snapshot TEXT,
  at       TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX idx_outbox_user ON outbox (user_id, seq);
