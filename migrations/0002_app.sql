-- The new app's own numbering and scratch uploads.
-- files.num is the integer id the legacy API exposes (`id` in list_saved_files, delete/<id>/,
-- update_tags/<id>/): the legacy id for imported files, 1,000,000,001 and up for files created here,
-- so that rows imported later (delta jobs during the canary) never collide with them. Users created
-- here are numbered the same way.
ALTER TABLE files ADD COLUMN num INTEGER;
UPDATE files SET num = legacy_id WHERE legacy_id IS NOT NULL;
CREATE UNIQUE INDEX idx_files_num ON files (num);

-- Files uploaded to csv_cutter (anonymous on the legacy side too): kept only to be cut.
CREATE TABLE scratch_files (
  id         TEXT    PRIMARY KEY,
  user_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,
  file_name  TEXT    NOT NULL,
  r2_key     TEXT    NOT NULL UNIQUE,
  size       INTEGER NOT NULL,
  columns    TEXT    NOT NULL,
  created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX idx_scratch_files_created ON scratch_files (created_at);
