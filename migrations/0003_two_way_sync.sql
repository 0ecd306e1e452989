-- Two-way canary: both systems take writes, and imports merge instead of overwriting
-- (the rule is in src/sync/three-way-merge.ts).
-- changed_on:  which side made the row's latest change ('legacy' | 'new').
-- legacy_base: JSON of the row's synced fields exactly as last imported from legacy (NULL for rows
--              created by the new app). A D1 value that differs from it was changed by the new app.
ALTER TABLE users ADD COLUMN changed_on TEXT NOT NULL DEFAULT 'new' CHECK (changed_on IN ('legacy', 'new'));
ALTER TABLE users ADD COLUMN legacy_base TEXT;
ALTER TABLE files ADD COLUMN changed_on TEXT NOT NULL DEFAULT 'new' CHECK (changed_on IN ('legacy', 'new'));
ALTER TABLE files ADD COLUMN legacy_base TEXT;
ALTER TABLE saved_filters ADD COLUMN changed_on TEXT NOT NULL DEFAULT 'new' CHECK (changed_on IN ('legacy', 'new'));
ALTER TABLE saved_filters ADD COLUMN legacy_base TEXT;

-- Rows imported before this migration: their current values are taken as what legacy last said.
UPDATE users SET changed_on = 'legacy', legacy_base = json_object(
  'username', username, 'email', email, 'first_name', first_name, 'last_name', last_name,
  'is_active', is_active, 'is_staff', is_staff, 'is_superuser', is_superuser,
  'date_joined', date_joined, 'password_hash', password_hash, 'last_login', last_login)
WHERE legacy_id IS NOT NULL;
UPDATE files SET changed_on = 'legacy', legacy_base = json_object(
  'user_id', user_id, 'file_name', file_name, 'system_tags', system_tags, 'user_tags', user_tags, 'metadata', metadata)
WHERE legacy_id IS NOT NULL;
UPDATE saved_filters SET changed_on = 'legacy', legacy_base = json_object(
  'user_id', user_id, 'file_id', file_id, 'name', name, 'description', description, 'filter_config', filter_config)
WHERE legacy_id IS NOT NULL;

-- Imported rows deleted on the new app: an import never brings them back. row_id is the row's id
-- as text (files: the file_id uuid; saved_filters: the integer id).
CREATE TABLE tombstones (
  tbl        TEXT NOT NULL CHECK (tbl IN ('files', 'saved_filters')),
  row_id     TEXT NOT NULL,
  legacy_id  INTEGER,
  deleted_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (tbl, row_id)
);

-- The import looks for new-app users holding a legacy user's email, case-insensitively.
CREATE INDEX idx_users_new_email ON users (lower(email)) WHERE legacy_id IS NULL;
