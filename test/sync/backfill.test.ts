import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { uploadKey } from "../../src/legacy/paths";
import { d1Row, legacyPaths, runJob, uploadExport } from "./canary";

/** The backfill statements of migrations/0003 (the rows they touch must exist before it runs). */
function backfill(): string[] {
  const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0003"));
  if (!migration) throw new Error("no migration 0003");
  return migration.queries.filter((q) => /^\s*(--[^\n]*\n\s*)*UPDATE/i.test(q));
}

describe("migration 0003 on rows imported before it", () => {
  it("marks them as legacy's with their current values as base, in the form the import compares", async () => {
    const [path] = await legacyPaths();
    const file = { id: 8011, userId: 801, fileId: crypto.randomUUID(), path: path!, userTags: ["x", "y z"] };
    const filter = { id: 80101, userId: 801, fileId: file.fileId, name: "old filter" };
    // As the importer before 0003 wrote them: the export's values, no base, the column default.
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO users (id, legacy_id, username, email, password_hash, first_name, last_name, is_active, is_staff, is_superuser, date_joined, last_login)
         VALUES (801, 801, 'before-0003', 'before-0003@legacy.example', 'pbkdf2_sha256$1000$salt$aGFzaA==', 'First', 'Last', 1, 0, 0, '2023-01-01T00:00:00.000Z', NULL)`,
      ),
      env.DB.prepare(
        `INSERT INTO files (id, legacy_id, num, user_id, file_name, r2_key, size, checksum, system_tags, user_tags, metadata, legacy_file_path, uploaded_at)
         VALUES (?1, 8011, 8011, 801, 'file-8011.csv', ?2, 0, '', '[]', '["x","y z"]', '{}', ?3, '2024-02-03T04:05:06.000Z')`,
      ).bind(file.fileId, uploadKey(801, file.fileId), file.path),
      env.DB.prepare(
        `INSERT INTO saved_filters (id, legacy_id, user_id, file_id, name, description, filter_config, created_at)
         VALUES (80101, 80101, 801, ?, 'old filter', '', '{"amount":"> 100"}', '2024-03-01T00:00:00.000Z')`,
      ).bind(file.fileId),
    ]);
    expect(await d1Row("users", 801)).toMatchObject({ changed_on: "new", legacy_base: null });

    const statements = backfill();
    expect(statements).toHaveLength(3);
    await env.DB.batch(statements.map((q) => env.DB.prepare(q)));

    const user = await d1Row("users", 801);
    expect(user).toMatchObject({ changed_on: "legacy" });
    expect(JSON.parse(user!.legacy_base)).toEqual({
      username: "before-0003",
      email: "before-0003@legacy.example",
      first_name: "First",
      last_name: "Last",
      is_active: 1,
      is_staff: 0,
      is_superuser: 0,
      date_joined: "2023-01-01T00:00:00.000Z",
      password_hash: "pbkdf2_sha256$1000$salt$aGFzaA==",
      last_login: null,
    });
    expect(JSON.parse((await d1Row("files", file.fileId))!.legacy_base)).toEqual({ user_id: 801, file_name: "file-8011.csv", system_tags: "[]", user_tags: '["x","y z"]', metadata: "{}" });
    const before = { user: user!.updated_at, filter: (await d1Row("saved_filters", filter.id))!.updated_at };

    // The same export again: every field equals its base, so nothing is written or counted as a change.
    await uploadExport("backfill", { users: [{ id: 801, username: "before-0003" }], files: [file], filters: [filter] });
    expect(await runJob("delta", "backfill")).toMatchObject({ state: "completed", legacyChanges: 0, conflicts: { total: 0 }, users: { migrated: 1 }, filters: { migrated: 1 } });
    expect((await d1Row("users", 801))!.updated_at).toBe(before.user);
    expect((await d1Row("saved_filters", filter.id))!.updated_at).toBe(before.filter);
  });
});
