import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { relativeMediaPath } from "../../src/legacy/paths";
import { formatPgArray, formatPgTimestamp, parsePgArray } from "../../src/legacy/postgres-literals";
import { legacyRelativePath } from "../../src/sync/reverse-rows";
import { BUNDLE_COLUMNS, BUNDLE_FORMAT } from "../../src/sync/reverse-bundle-format";
import { TEST_MEDIA_ROOT } from "../config";
import { admin, api, apiJson, csvForm, newUser, putExport, sha256Hex } from "../helpers";
import { toCsv } from "../legacy-origin/corpus";
import { d1Row, failuresOf, LEGACY_PASSWORD_HASH, legacyPaths, runJob, tokenFor, uploadExport } from "./canary";
import { applied, fetchBundle, jobView, lastSeq, runReverse } from "./reverse";

const CSV = "id,name\n1,Ann\n2,Bob\n";

describe("literals of the reverse bundle", () => {
  it("PostgreSQL arrays read back as written, quoted as PostgreSQL prints them", () => {
    const cases: [string[], string][] = [
      [[], "{}"],
      [["a", "b"], "{a,b}"],
      [["b c", "", "NULL", "null", 'say "hi"', "back\\slash", "{x}", "a,b", "ü"], '{"b c","","NULL","null","say \\"hi\\"","back\\\\slash","{x}","a,b",ü}'],
    ];
    for (const [items, literal] of cases) {
      expect(formatPgArray(items)).toBe(literal);
      expect(parsePgArray(literal)).toEqual(items);
    }
    expect(formatPgTimestamp("2026-01-02T03:04:05.678Z")).toBe("2026-01-02T03:04:05.678+00:00");
    expect(formatPgTimestamp(null)).toBeNull();
  });

  it("places new-app files by their file_id, whatever name a user chose: no chosen extension reaches legacy's media directory", () => {
    const path = legacyRelativePath({ id: "0b0b0b0b-0000-4000-8000-000000000001", user_id: 1_000_000_007, legacy_file_path: null }, TEST_MEDIA_ROOT);
    expect(path).toBe("reverse-sync/1000000007/0b0b0b0b-0000-4000-8000-000000000001.csv");
    expect(relativeMediaPath(`${TEST_MEDIA_ROOT}/${path}`, TEST_MEDIA_ROOT).ok).toBe(true);
    expect(legacyRelativePath({ id: "x", user_id: 3, legacy_file_path: `${TEST_MEDIA_ROOT}/uploads/sales.csv` }, TEST_MEDIA_ROOT)).toBe("uploads/sales.csv");
  });
});

describe("a reverse job bundles the new app's writes in legacy's shape", () => {
  it("ships exactly the rows written since, with deletions; applied marks them so that the next delta finds nothing to merge; the next job starts after it", async () => {
    // Legacy: a user with two files and a filter, migrated by a full job.
    const [pathA, pathB] = await legacyPaths();
    const legacyUser = { id: 801, username: "rev-legacy" };
    const tagged = { id: 8012, userId: 801, fileId: crypto.randomUUID(), path: pathA!, userTags: ["old tag"] };
    const doomed = { id: 8011, userId: 801, fileId: crypto.randomUUID(), path: pathB! };
    const legacyFilter = { id: 80101, userId: 801, fileId: null, name: "legacy filter" };
    await uploadExport("rev-1", { users: [legacyUser], files: [doomed, tagged], filters: [legacyFilter] });
    expect(await runJob("full", "rev-1")).toMatchObject({ state: "completed" });
    const before = await lastSeq();

    // The new app's writes: a registration, an upload, a tag, two filters saved (one updated, one
    // deleted), a migrated filter and a migrated file deleted.
    const newcomer = await newUser("rev-newcomer");
    const legacyToken = await tokenFor(801);
    const uploaded = (await (await api("/api/list_cutter/upload/", { method: "POST", body: csvForm("my, list (1).csv", CSV), token: newcomer.access })).json<{ file_id: string }>()).file_id;
    expect((await apiJson(`/api/list_cutter/update_tags/${tagged.id}/`, { user_tags: ["new tag", "b c"] }, { method: "PATCH", token: legacyToken })).status).toBe(200);
    const kept = (await apiJson("/api/list_cutter/filters/", { name: "kept", filter_config: { name: "= Ann" }, file_id: uploaded }, { token: newcomer.access })).body;
    const dropped = (await apiJson("/api/list_cutter/filters/", { name: "dropped", filter_config: {} }, { token: newcomer.access })).body;
    expect((await apiJson(`/api/list_cutter/filters/${kept.id}/`, { name: "kept, renamed", description: 'with "quotes"\nand a line' }, { method: "PATCH", token: newcomer.access })).status).toBe(200);
    expect((await api(`/api/list_cutter/filters/${dropped.id}/`, { method: "DELETE", token: newcomer.access })).status).toBe(204);
    expect((await api(`/api/list_cutter/filters/${legacyFilter.id}/`, { method: "DELETE", token: legacyToken })).status).toBe(204);
    expect((await api(`/api/list_cutter/delete/${doomed.id}/`, { method: "DELETE", token: legacyToken })).status).toBe(204);
    const toSeq = await lastSeq();
    expect(toSeq - before).toBe(9);

    const job = await runReverse();
    expect(job).toMatchObject({ kind: "reverse", state: "completed", exportSet: null, fromSeq: 0, toSeq, counts: { users: 1, files: 2, filters: 1, deletions: 3 }, items: { total: 2, done: 2, failed: 0 }, appliedAt: null, appliedToSeq: null });
    expect((await admin("/admin/jobs").then((r) => r.json<{ jobs: any[] }>())).jobs[0]).toMatchObject({ id: job.id, kind: "reverse", state: "completed" });

    const { manifest, rows } = await fetchBundle(job.id);
    expect(manifest).toMatchObject({ format: BUNDLE_FORMAT, jobId: job.id, fromSeq: 0, toSeq, mediaRoot: TEST_MEDIA_ROOT, counts: { users: 1, files: 2, filters: 1, deletions: 3 } });
    expect(manifest.parts).toEqual({ users: ["users-0001.csv"], files: ["files-0001.csv"], filters: ["filters-0001.csv"], deletions: ["deletions-0001.csv"] });

    const user = (await d1Row("users", newcomer.id))!;
    expect(rows.users).toEqual([
      {
        id: String(newcomer.id),
        username: "rev-newcomer",
        email: "rev-newcomer@example.com",
        password: user.password_hash,
        first_name: "",
        last_name: "",
        date_joined: formatPgTimestamp(user.date_joined),
        last_login: formatPgTimestamp(user.last_login),
        is_active: "t",
        is_staff: "f",
        is_superuser: "f",
      },
    ]);
    expect(user.password_hash).toMatch(/^pbkdf2_sha256\$/);

    const mine = (await d1Row("files", uploaded))!;
    const theirs = (await d1Row("files", tagged.fileId))!;
    const taggedRelative = relativeMediaPath(tagged.path, TEST_MEDIA_ROOT);
    const doomedRelative = relativeMediaPath(doomed.path, TEST_MEDIA_ROOT);
    if (!taggedRelative.ok || !doomedRelative.ok) throw new Error("fixture paths outside the media root");
    const mineRelative = `reverse-sync/${newcomer.id}/${uploaded}.csv`;
    expect(rows.files).toEqual([
      {
        id: String(mine.num),
        user_id: String(newcomer.id),
        file_id: uploaded,
        file_name: "my, list (1).csv",
        file_path: `${TEST_MEDIA_ROOT}/${mineRelative}`,
        uploaded_at: formatPgTimestamp(mine.uploaded_at),
        system_tags: "{uploaded}",
        user_tags: "{}",
        metadata: "{}",
        relative_path: mineRelative,
        size: String(CSV.length),
        sha256: mine.checksum,
      },
      {
        id: String(tagged.id),
        user_id: "801",
        file_id: tagged.fileId,
        file_name: "file-8012.csv",
        file_path: tagged.path,
        uploaded_at: "2024-02-03T04:05:06.000+00:00",
        system_tags: "{}",
        user_tags: '{"old tag","new tag","b c"}',
        metadata: "{}",
        relative_path: taggedRelative.relativePath,
        size: String(theirs.size),
        sha256: theirs.checksum,
      },
    ]);
    const filter = (await d1Row("saved_filters", kept.id))!;
    expect(rows.filters).toEqual([
      { id: String(kept.id), user_id: String(newcomer.id), file_id: uploaded, name: "kept, renamed", description: 'with "quotes"\nand a line', filter_config: '{"name":"= Ann"}', created_at: formatPgTimestamp(filter.created_at) },
    ]);
    expect(rows.deletions).toEqual([
      { table: "filters", id: String(dropped.id), file_id: "", relative_path: "" },
      { table: "filters", id: String(legacyFilter.id), file_id: "", relative_path: "" },
      { table: "files", id: String(doomed.id), file_id: doomed.fileId, relative_path: doomedRelative.relativePath },
    ]);

    // The files the bundle lists are served from R2, byte for byte.
    for (const row of [mine, theirs]) {
      const res = await admin(`/admin/jobs/${job.id}/files/${row.id}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-content-sha256")).toBe(row.checksum);
      expect(await sha256Hex(res.body!)).toBe(row.checksum);
    }

    // Applied on legacy: recorded once, and every shipped row is now one legacy knows.
    const first = await applied(job.id, toSeq);
    expect(first).toMatchObject({ status: 200, body: { jobId: job.id, toSeq, appliedAt: expect.any(String) } });
    expect(await applied(job.id, toSeq)).toEqual(first);
    expect(await jobView(job.id)).toMatchObject({ appliedAt: first.body.appliedAt, appliedToSeq: toSeq, roundTrip: { marked: 4, done: true } });
    expect(await d1Row("users", newcomer.id)).toMatchObject({ legacy_id: newcomer.id, changed_on: "new" });
    expect(await d1Row("files", uploaded)).toMatchObject({ legacy_id: mine.num, legacy_file_path: `${TEST_MEDIA_ROOT}/${mineRelative}` });
    expect(await d1Row("files", tagged.fileId)).toMatchObject({ legacy_id: tagged.id, legacy_file_path: tagged.path, changed_on: "new" });
    expect(await d1Row("saved_filters", kept.id)).toMatchObject({ legacy_id: kept.id });

    // Legacy's next export holds the bundle's rows as it applied them: a delta merges them without
    // a conflict, a row error or a change.
    const legacyUsers = [[legacyUser.id, legacyUser.username, `${legacyUser.username}@legacy.example`, LEGACY_PASSWORD_HASH, "First", "Last", "2023-01-01 00:00:00+00", "", "t", "f", "f"]];
    const users = [...legacyUsers, ...rows.users.map((r) => BUNDLE_COLUMNS.users.map((c) => r[c]!))];
    const fileColumns = ["id", "user_id", "file_id", "file_name", "file_path", "uploaded_at", "system_tags", "user_tags", "metadata"];
    const filterColumns = ["id", "user_id", "file_id", "name", "description", "filter_config", "created_at"];
    await putExport("rev-2", "users", toCsv([...BUNDLE_COLUMNS.users], users));
    await putExport("rev-2", "files", toCsv(fileColumns, rows.files.map((r) => fileColumns.map((c) => r[c]!))));
    await putExport("rev-2", "filters", toCsv(filterColumns, rows.filters.map((r) => filterColumns.map((c) => r[c]!))));
    const delta = await runJob("delta", "rev-2");
    expect(await failuresOf(delta.id)).toEqual([]);
    expect(delta).toMatchObject({ state: "completed", rowErrors: 0, conflicts: { open: 0, total: 0 }, legacyChanges: 0, users: { migrated: 2 }, filters: { migrated: 1 } });
    expect(await d1Row("files", tagged.fileId)).toMatchObject({ user_tags: JSON.stringify(["old tag", "new tag", "b c"]) });
    expect(await d1Row("saved_filters", kept.id)).toMatchObject({ name: "kept, renamed" });

    // A change after the bundle stays the new app's: the next delta keeps it, and the next reverse job carries it.
    expect((await apiJson(`/api/list_cutter/update_tags/${uploaded}/`, { user_tags: ["later"] }, { method: "PATCH", token: newcomer.access })).status).toBe(200);
    expect(await runJob("delta", "rev-2")).toMatchObject({ state: "completed", conflicts: { total: 0 }, legacyChanges: 0 });
    expect(JSON.parse((await d1Row("files", uploaded))!.user_tags)).toEqual(["later"]);

    const next = await runReverse();
    expect(next).toMatchObject({ state: "completed", fromSeq: toSeq, toSeq: toSeq + 1, counts: { users: 0, files: 1, filters: 0, deletions: 0 } });
    const later = await fetchBundle(next.id);
    expect(later.manifest.parts).toEqual({ users: [], files: ["files-0001.csv"], filters: [], deletions: [] });
    expect(later.rows.files).toMatchObject([{ file_id: uploaded, user_tags: "{later}", file_path: `${TEST_MEDIA_ROOT}/${mineRelative}` }]);

    // Nothing written since: an empty bundle.
    const empty = await runReverse({ since: toSeq + 1 });
    expect(empty).toMatchObject({ state: "completed", fromSeq: toSeq + 1, toSeq: toSeq + 1, counts: { users: 0, files: 0, filters: 0, deletions: 0 }, items: { total: 0 } });
    expect((await fetchBundle(empty.id)).manifest.parts).toEqual({ users: [], files: [], filters: [], deletions: [] });
    // An explicit since re-bundles an applied range.
    expect(await runReverse({ since: 0 })).toMatchObject({ state: "completed", fromSeq: 0, counts: { users: 1, files: 2, filters: 1, deletions: 3 } });
    expect(env.LEGACY_MEDIA_ROOT).toBe(TEST_MEDIA_ROOT);
  });
});
