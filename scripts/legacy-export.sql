-- Legacy export for the List Cutter cutover engine (see README "Legacy export").
-- Run on the legacy PostgreSQL with psql, from a directory you can write to:
--   psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f scripts/legacy-export.sql
-- It writes users.csv, files.csv and filters.csv; upload each with
--   curl -X PUT -H "Authorization: Bearer $ADMIN_TOKEN" --data-binary @users.csv \
--        https://<worker>/admin/exports/<set>/users
-- Booleans come out as t/f, arrays as PostgreSQL literals ({a,"b c"}), JSON as text: the engine
-- decodes all three. Extra columns are ignored; a missing required one is refused by name.

\copy (SELECT id, username, email, password, first_name, last_name, date_joined, last_login, is_active, is_staff, is_superuser FROM auth_user ORDER BY id) TO 'users.csv' WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')

\copy (SELECT id, user_id, file_id, file_name, file_path, uploaded_at, system_tags, user_tags, metadata FROM list_cutter_savedfile ORDER BY id) TO 'files.csv' WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')

-- Saved filters are optional: skip this line (and the upload) if the legacy site has none.
\copy (SELECT id, user_id, file_id, name, description, filter_config, created_at FROM list_cutter_savedfilter ORDER BY id) TO 'filters.csv' WITH (FORMAT csv, HEADER true, ENCODING 'UTF8')
