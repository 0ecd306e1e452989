import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminJson, api, apiJson, csvForm, newUser } from "../helpers";
import { d1Row, legacyPaths, resolve, runJob, tokenFor, uploadExport } from "./canary";
import { lastSeq, outboxAfter } from "./reverse";

const CSV = "id,name\n1,Ann\n2,Bob\n";

async function upload(token: string, name: string, fields: Record<string, string> = {}, path = "/api/list_cutter/upload/") {
  const res = await api(path, { method: "POST", body: csvForm(name, CSV, fields), token });
  return { status: res.status, body: (await res.json()) as any };
}

/** Runs `write` and returns the outbox rows it added. */
async function added(write: () => Promise<unknown>) {
  const before = await lastSeq();
  await write();
  return (await outboxAfter(before)).map(({ seq: _seq, ...row }) => row);
}

/** Whether a request failed as a D1 error fails it (the app rethrows; the Worker's handler answers 500). */
function fails(request: Promise<{ status: number }>): Promise<boolean> {
  return request.then(
    (res) => res.status >= 500,
    () => true,
  );
}

/** A trigger that makes every insert into `table` fail, for the length of `run`. */
async function withFailingInserts<T>(table: string, run: () => Promise<T>): Promise<T> {
  await env.DB.prepare(`CREATE TRIGGER fail_${table} BEFORE INSERT ON ${table} BEGIN SELECT RAISE(ABORT, '${table} refuses writes'); END`).run();
  try {
    return await run();
  } finally {
    await env.DB.prepare(`DROP TRIGGER fail_${table}`).run();
  }
}

describe("the outbox: every write the new app makes to a legacy table is recorded with it", () => {
  it("adds exactly one row per write kind, in the write's batch, naming the row and the acting user", async () => {
    let user!: Awaited<ReturnType<typeof newUser>>;
    const registered = await added(async () => (user = await newUser("outbox-ann")));
    // Registration only: newUser also logs in, whose last_login touch is not recorded.
    expect(registered).toEqual([{ tbl: "users", row_id: String(user.id), op: "upsert", user_id: user.id, snapshot: null }]);
    expect(user.id).toBeGreaterThan(1_000_000_000);

    let fileId = "";
    expect(await added(async () => (fileId = (await upload(user.access, "a.csv")).body.file_id))).toEqual([{ tbl: "files", row_id: fileId, op: "upsert", user_id: user.id, snapshot: null }]);
    let cutId = "";
    const cut = await added(async () => {
      const res = await upload(user.access, "cut.csv", { filename: "cut.csv", original_file_id: fileId }, "/api/list_cutter/save_generated_file/");
      expect(res.status).toBe(201);
      cutId = res.body.file_id;
    });
    expect(cut).toEqual([{ tbl: "files", row_id: cutId, op: "upsert", user_id: user.id, snapshot: null }]);
    const tagged = await added(async () => expect((await apiJson(`/api/list_cutter/update_tags/${fileId}/`, { user_tags: ["x"] }, { method: "PATCH", token: user.access })).status).toBe(200));
    expect(tagged).toEqual([{ tbl: "files", row_id: fileId, op: "upsert", user_id: user.id, snapshot: null }]);

    let filterId = 0;
    const created = await added(async () => (filterId = (await apiJson("/api/list_cutter/filters/", { name: "f", filter_config: { name: "= Ann" } }, { token: user.access })).body.id));
    expect(created).toEqual([{ tbl: "saved_filters", row_id: String(filterId), op: "upsert", user_id: user.id, snapshot: null }]);
    const updated = await added(async () => expect((await apiJson(`/api/list_cutter/filters/${filterId}/`, { name: "g" }, { method: "PATCH", token: user.access })).status).toBe(200));
    expect(updated).toEqual([{ tbl: "saved_filters", row_id: String(filterId), op: "upsert", user_id: user.id, snapshot: null }]);
    const filterGone = await added(async () => expect((await api(`/api/list_cutter/filters/${filterId}/`, { method: "DELETE", token: user.access })).status).toBe(204));
    expect(filterGone).toEqual([{ tbl: "saved_filters", row_id: String(filterId), op: "delete", user_id: user.id, snapshot: JSON.stringify({ id: filterId }) }]);

    const { num } = (await d1Row("files", cutId))!;
    const fileGone = await added(async () => expect((await api(`/api/list_cutter/delete/${num}/`, { method: "DELETE", token: user.access })).status).toBe(204));
    const snapshot = { id: num, file_id: cutId, relative_path: `reverse-sync/${user.id}/${cutId}.csv` };
    expect(fileGone).toEqual([{ tbl: "files", row_id: cutId, op: "delete", user_id: user.id, snapshot: JSON.stringify(snapshot) }]);

    // Reads, logins and refused writes record nothing.
    const quiet = await added(async () => {
      await api("/api/list_cutter/list_saved_files/", { token: user.access });
      expect((await apiJson("/api/accounts/login/", { username: "outbox-ann", password: "correct-horse-battery" })).status).toBe(200);
      expect((await apiJson("/api/accounts/register/", { username: "outbox-ann", password: "another-horse-battery", password2: "another-horse-battery" })).status).toBe(400);
      expect((await apiJson(`/api/list_cutter/update_tags/${num}/`, { user_tags: ["y"] }, { method: "PATCH", token: user.access })).status).toBe(404);
      expect((await apiJson("/api/list_cutter/filters/", { name: "" , filter_config: {} }, { token: user.access })).status).toBe(400);
      const other = await tokenFor(user.id + 1);
      expect((await api(`/api/list_cutter/delete/${fileId}/`, { method: "DELETE", token: other })).status).toBe(401);
    });
    expect(quiet).toEqual([]);
  });

  it("a write that fails adds no row, and a row that cannot be added fails its write", async () => {
    const user = await newUser("outbox-bob");
    const { body: first } = await upload(user.access, "first.csv");

    // The write fails: nothing in the outbox.
    const failedWrites = await added(async () => {
      await withFailingInserts("saved_filters", async () => {
        expect(await fails(apiJson("/api/list_cutter/filters/", { name: "f", filter_config: {} }, { token: user.access }))).toBe(true);
      });
      await withFailingInserts("files", async () => {
        expect(await fails(upload(user.access, "second.csv"))).toBe(true);
      });
      await withFailingInserts("users", async () => {
        expect(await fails(apiJson("/api/accounts/register/", { username: "outbox-nobody", password: "correct-horse-battery", password2: "correct-horse-battery" }))).toBe(true);
      });
    });
    expect(failedWrites).toEqual([]);

    // The outbox refuses: the write is undone with it (same batch).
    await withFailingInserts("outbox", async () => {
      expect(await fails(apiJson("/api/list_cutter/filters/", { name: "f", filter_config: {} }, { token: user.access }))).toBe(true);
      expect(await fails(upload(user.access, "third.csv"))).toBe(true);
      expect(await fails(apiJson(`/api/list_cutter/update_tags/${first.file_id}/`, { user_tags: ["t"] }, { method: "PATCH", token: user.access }))).toBe(true);
      expect(await fails(api(`/api/list_cutter/delete/${first.file_id}/`, { method: "DELETE", token: user.access }))).toBe(true);
      expect(await fails(apiJson("/api/accounts/register/", { username: "outbox-carl", password: "correct-horse-battery", password2: "correct-horse-battery" }))).toBe(true);
    });
    expect(await env.DB.prepare(`SELECT count(*) AS n FROM saved_filters WHERE user_id = ?`).bind(user.id).first()).toEqual({ n: 0 });
    expect(await env.DB.prepare(`SELECT file_name, user_tags FROM files WHERE user_id = ?`).bind(user.id).all().then((r) => r.results)).toEqual([{ file_name: "first.csv", user_tags: "[]" }]);
    expect(await env.DB.prepare(`SELECT count(*) AS n FROM users WHERE username IN ('outbox-nobody', 'outbox-carl')`).first()).toEqual({ n: 0 });
    expect(await env.FILES.list({ prefix: `uploads/user-${user.id}/` }).then((l) => l.objects.length)).toBe(1);
  });

  it("a conflict resolution that changes a user on the new side only (rename-new) is recorded; one that brings legacy's values is not", async () => {
    const holder = await newUser("outbox-taken");
    const mailer = await newUser("outbox-mailer");
    await uploadExport("outbox-conflicts", { users: [{ id: 903, username: "outbox-taken" }, { id: 904, username: "outbox-mail", email: "outbox-mailer@example.com" }], files: [] });
    expect(await runJob("full", "outbox-conflicts")).toMatchObject({ state: "completed_with_failures", conflicts: { open: 2 } });
    const { conflicts } = (await adminJson<{ conflicts: { id: number; rowKey: string; field: string }[] }>("/admin/conflicts?state=open")).body;
    const byUser = new Map(conflicts.map((c) => [c.rowKey, c.id]));
    const renamed = await added(async () => expect((await resolve(byUser.get("903")!, { action: "rename-new", username: "outbox-taken-2" })).status).toBe(200));
    expect(renamed).toEqual([{ tbl: "users", row_id: String(holder.id), op: "upsert", user_id: holder.id, snapshot: null }]);
    const remailed = await added(async () => expect((await resolve(byUser.get("904")!, { action: "rename-new", email: "other@example.com" })).status).toBe(200));
    expect(remailed).toEqual([{ tbl: "users", row_id: String(mailer.id), op: "upsert", user_id: mailer.id, snapshot: null }]);
    expect(await d1Row("users", holder.id)).toMatchObject({ username: "outbox-taken-2" });

    const legacyEmail = await added(async () => {
      await uploadExport("outbox-conflicts-2", { users: [{ id: 905, username: "outbox-mail-2", email: "other@example.com" }], files: [] });
      expect(await runJob("delta", "outbox-conflicts-2")).toMatchObject({ conflicts: { open: 1 } });
      const open = (await adminJson<{ conflicts: { id: number; rowKey: string }[] }>("/admin/conflicts?state=open")).body.conflicts.find((c) => c.rowKey === "905")!;
      expect((await resolve(open.id, { action: "rename-legacy", email: "legacy-side@example.com" })).status).toBe(200);
    });
    expect(legacyEmail).toEqual([]);
  });

  it("migration jobs (imports and copies) record nothing", async () => {
    const [path] = await legacyPaths();
    const before = await lastSeq();
    await uploadExport("outbox-import", {
      users: [{ id: 901, username: "outbox-legacy" }],
      files: [{ id: 9011, userId: 901, fileId: crypto.randomUUID(), path: path! }],
      filters: [{ id: 90101, userId: 901, fileId: null, name: "legacy filter" }],
    });
    expect(await runJob("full", "outbox-import")).toMatchObject({ state: "completed", items: { done: 1 }, users: { migrated: 1 }, filters: { migrated: 1 } });
    expect(await runJob("delta", "outbox-import")).toMatchObject({ state: "completed" });
    expect(await outboxAfter(before)).toEqual([]);
  });
});
