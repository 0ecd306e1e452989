import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { uploadKey } from "../../src/legacy/paths";
import { adminJson, apiJson, newUser } from "../helpers";
import { d1Row, failuresOf, legacyPaths, resolve, runJob, uploadExport } from "./canary";

describe("a username or email taken on both sides between two syncs", () => {
  it("is a conflict in the job's failures and view; the legacy user's files fail as conflict; rename-new lets the next delta import them", async () => {
    const [pathA, pathB] = await legacyPaths();
    const holder = await newUser("twice-taken");
    const other = await newUser("email-owner");
    const users = [
      { id: 731, username: "twice-taken" },
      { id: 732, username: "email-twin", email: "EMAIL-OWNER@example.com" },
    ];
    const files = [
      { id: 7311, userId: 731, fileId: crypto.randomUUID(), path: pathA! },
      { id: 7321, userId: 732, fileId: crypto.randomUUID(), path: pathB! },
    ];
    const filters = [{ id: 73101, userId: 731, fileId: files[0]!.fileId, name: "contested user's filter" }];
    await uploadExport("names-1", { users, files, filters });

    const first = await runJob("delta", "names-1");
    expect(first).toMatchObject({ state: "completed_with_failures", users: { migrated: 1 }, items: { total: 2, done: 1, failed: 1 }, conflicts: { open: 2, total: 2 } });
    const failures = await failuresOf(first.id);
    const byReason = Object.fromEntries(failures.map((f) => [f.reason, f]));
    const username = byReason.username_taken!;
    expect(username).toMatchObject({ kind: "conflict", table: "users", line: 2, conflictId: expect.any(Number) });
    expect(username.detail).toContain(`username 'twice-taken' is held by user ${holder.id} (created on the new app); not imported`);
    expect(byReason.email_taken).toMatchObject({ kind: "conflict", table: "users", line: 3, detail: expect.stringContaining(`new-app user ${other.id}`) });
    expect(byReason.conflict).toMatchObject({ kind: "item", fileId: files[0]!.fileId, detail: expect.stringContaining(`username conflict #${username.conflictId}`) });
    expect(failures.filter((f) => f.kind === "row")).toEqual([expect.objectContaining({ table: "filters", line: 2, detail: expect.stringContaining(`username conflict #${username.conflictId}`) })]);
    expect(failures.some((f) => f.reason === "unknown_user")).toBe(false);
    // Nothing lost on either side: the new-app user is intact, the other legacy user and file imported.
    expect(await d1Row("users", 731)).toBeNull();
    expect(await d1Row("users", holder.id)).toMatchObject({ username: "twice-taken", legacy_id: null });
    expect(await d1Row("users", 732)).toMatchObject({ username: "email-twin", email: "EMAIL-OWNER@example.com" });
    expect(await d1Row("files", files[1]!.fileId)).not.toBeNull();

    // A second delta before any resolution updates the same conflict instead of adding one.
    const second = await runJob("delta", "names-1");
    expect(second).toMatchObject({ state: "completed_with_failures", conflicts: { open: 1, total: 1 } });
    expect((await failuresOf(second.id)).find((f) => f.kind === "conflict")!.conflictId).toBe(username.conflictId);
    expect((await adminJson(`/admin/conflicts/${username.conflictId}`)).body).toMatchObject({ state: "open", jobIds: [first.id, second.id] });

    // Resolutions are checked against the conflict.
    expect(await resolve(username.conflictId!, { action: "keep-legacy" })).toMatchObject({ status: 400, body: { field: "action" } });
    expect(await resolve(username.conflictId!, { action: "rename-new" })).toMatchObject({ status: 400, body: { field: "username" } });
    expect(await resolve(username.conflictId!, { action: "rename-new", username: "no spaces" })).toMatchObject({ status: 400, body: { field: "username" } });
    expect(await resolve(username.conflictId!, { action: "rename-new", username: "email-twin" })).toMatchObject({ status: 409, body: { field: "username" } });
    expect(await resolve(username.conflictId!, { action: "rename-new", username: "x", email: "a@b.c" })).toMatchObject({ status: 400, body: { field: "email" } });

    const renamed = await resolve(username.conflictId!, { action: "rename-new", username: "twice-taken-new" });
    expect(renamed).toMatchObject({ status: 200, body: { conflict: { state: "resolved", resolution: { action: "rename-new", username: "twice-taken-new" } } } });
    expect(await d1Row("users", holder.id)).toMatchObject({ username: "twice-taken-new", changed_on: "new" });
    expect((await apiJson("/api/accounts/login/", { username: "twice-taken-new", password: "correct-horse-battery" })).status).toBe(200);
    expect(await resolve(byReason.email_taken!.conflictId!, { action: "keep-both" })).toMatchObject({ status: 200 });

    const third = await runJob("delta", "names-1");
    expect(third).toMatchObject({ state: "completed", users: { migrated: 2 }, filters: { migrated: 1 }, items: { total: 1, done: 1 }, conflicts: { total: 0 } });
    expect(await d1Row("users", 731)).toMatchObject({ username: "twice-taken", legacy_id: 731, changed_on: "legacy" });
    expect(await d1Row("files", files[0]!.fileId)).toMatchObject({ user_id: 731 });
    expect(await env.FILES.head(uploadKey(731, files[0]!.fileId))).not.toBeNull();
    expect(await d1Row("saved_filters", filters[0]!.id)).toMatchObject({ user_id: 731 });
    const open = (await adminJson(`/admin/conflicts?state=open`)).body.conflicts;
    expect(open.filter((c: any) => c.rowKey === "731" || c.rowKey === "732")).toEqual([]);
  });

  it("rename-legacy imports the legacy user under another name, and reminds the operator to rename it on legacy", async () => {
    const [path] = await legacyPaths();
    await newUser("also-taken");
    const file = { id: 7411, userId: 741, fileId: crypto.randomUUID(), path: path! };
    await uploadExport("names-2", { users: [{ id: 741, username: "also-taken", email: "741@legacy.example" }], files: [file] });
    const first = await runJob("delta", "names-2");
    expect(first).toMatchObject({ state: "completed_with_failures", conflicts: { open: 1 } });
    const conflictId = (await failuresOf(first.id)).find((f) => f.kind === "conflict")!.conflictId!;

    const renamed = await resolve(conflictId, { action: "rename-legacy", username: "also-taken-legacy" });
    expect(renamed).toMatchObject({ status: 200, body: { legacySql: "UPDATE auth_user SET username = 'also-taken-legacy' WHERE id = 741;", note: expect.stringContaining("rename the user on legacy") } });

    expect(await runJob("delta", "names-2")).toMatchObject({ state: "completed", users: { migrated: 1 }, items: { total: 1, done: 1 } });
    const user = await d1Row("users", 741);
    expect(user).toMatchObject({ username: "also-taken-legacy", legacy_id: 741 });
    expect(JSON.parse(user!.legacy_base).username).toBe("also-taken-legacy");
    expect(await d1Row("files", file.fileId)).toMatchObject({ user_id: 741 });

    // Once legacy has the new name too, the rename no longer applies and nothing changes.
    await uploadExport("names-3", { users: [{ id: 741, username: "also-taken-legacy", email: "741@legacy.example" }], files: [file] });
    expect(await runJob("delta", "names-3")).toMatchObject({ state: "completed", legacyChanges: 0, conflicts: { total: 0 } });
    expect(await d1Row("users", 741)).toMatchObject({ username: "also-taken-legacy" });
  });

  it("a legacy rename of an imported user to a name the new app holds is held back as a conflict; its other fields still merge", async () => {
    const [path] = await legacyPaths();
    const file = { id: 7511, userId: 751, fileId: crypto.randomUUID(), path: path! };
    await uploadExport("names-4", { users: [{ id: 751, username: "old-name" }], files: [file] });
    expect(await runJob("full", "names-4")).toMatchObject({ state: "completed" });
    const holder = await newUser("wanted-name");

    await uploadExport("names-5", { users: [{ id: 751, username: "wanted-name", email: "moved@legacy.example" }], files: [file] });
    const job = await runJob("delta", "names-5");
    expect(job).toMatchObject({ state: "completed_with_failures", users: { migrated: 1 }, legacyChanges: 1, conflicts: { open: 1 } });
    const conflict = (await failuresOf(job.id)).find((f) => f.kind === "conflict")!;
    expect(conflict.detail).toContain(`username 'wanted-name' is held by user ${holder.id} (created on the new app); its username change is not applied`);
    const user = await d1Row("users", 751);
    expect(user).toMatchObject({ username: "old-name", email: "moved@legacy.example" });
    expect(JSON.parse(user!.legacy_base)).toMatchObject({ username: "old-name", email: "moved@legacy.example" });

    expect(await resolve(conflict.conflictId!, { action: "rename-new", username: "wanted-name-2" })).toMatchObject({ status: 200 });
    expect(await runJob("delta", "names-5")).toMatchObject({ state: "completed", conflicts: { total: 0 } });
    expect(await d1Row("users", 751)).toMatchObject({ username: "wanted-name" });
  });
});
