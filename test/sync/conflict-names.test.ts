import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminJson, newUser } from "../helpers";
import { d1Row, failuresOf, resolve, runJob, uploadExport } from "./canary";

/** The open conflict of a legacy user, by kind. */
async function openConflict(legacyUserId: number, field: "username" | "fields"): Promise<number> {
  const { conflicts } = (await adminJson<{ conflicts: { id: number; table: string; rowKey: string; field: string }[] }>(`/admin/conflicts?state=open&limit=1000`)).body;
  const conflict = conflicts.find((c) => c.table === "users" && c.rowKey === String(legacyUserId) && c.field === field);
  expect(conflict, `open ${field} conflict of legacy user ${legacyUserId}`).toBeDefined();
  return conflict!.id;
}

describe("conflict resolutions give no username that is taken or that a waiting legacy user needs", () => {
  it("keep-legacy of a username changed on both sides is a 409 naming username when the legacy name is now held, not a 500", async () => {
    await uploadExport("kl-1", { users: [{ id: 761, username: "kl-old" }], files: [] });
    expect(await runJob("full", "kl-1")).toMatchObject({ state: "completed", users: { migrated: 1 } });
    // The new side renames the imported user (as a rename-new resolution does), legacy renames it too.
    await env.DB.prepare(`UPDATE users SET username = 'kl-local', changed_on = 'new' WHERE id = 761`).run();
    await uploadExport("kl-2", { users: [{ id: 761, username: "kl-remote" }], files: [] });
    const job = await runJob("delta", "kl-2");
    expect(job).toMatchObject({ state: "completed_with_failures", conflicts: { open: 1 } });
    const conflictId = (await failuresOf(job.id)).find((f) => f.kind === "conflict")!.conflictId!;
    expect((await adminJson(`/admin/conflicts/${conflictId}`)).body).toMatchObject({ field: "fields", detail: { fields: { username: { base: "kl-old", local: "kl-local", remote: "kl-remote" } } } });

    // Meanwhile someone registers legacy's name on the new app.
    const other = await newUser("kl-remote");
    expect(await resolve(conflictId, { action: "keep-legacy" })).toMatchObject({ status: 409, body: { field: "username", error: expect.stringContaining("'kl-remote' is taken") } });
    expect(await d1Row("users", 761)).toMatchObject({ username: "kl-local" });
    expect(await d1Row("users", other.id)).toMatchObject({ username: "kl-remote" });
    expect((await adminJson(`/admin/conflicts/${conflictId}`)).body).toMatchObject({ state: "open" });

    // A constraint D1 raises anyway (the name taken between the check and the write) is a 409 naming the field too.
    await env.DB.prepare(`UPDATE users SET username = 'kl-remote-gone' WHERE id = ?`).bind(other.id).run();
    await env.DB.exec(`CREATE TRIGGER kl_race BEFORE UPDATE OF username ON users WHEN NEW.username = 'kl-remote' BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: users.username'); END`);
    try {
      expect(await resolve(conflictId, { action: "keep-legacy" })).toMatchObject({ status: 409, body: { field: "username", error: expect.stringContaining("UNIQUE constraint failed: users.username") } });
    } finally {
      await env.DB.exec(`DROP TRIGGER kl_race`);
    }
    expect(await d1Row("users", 761)).toMatchObject({ username: "kl-local" });

    // Once the name is free, keep-legacy applies it.
    expect(await resolve(conflictId, { action: "keep-legacy" })).toMatchObject({ status: 200, body: { conflict: { state: "resolved", resolution: { action: "keep-legacy", applied: true } } } });
    expect(await d1Row("users", 761)).toMatchObject({ username: "kl-remote", changed_on: "legacy" });
  });

  it("rename-new or rename-legacy to a name the legacy user of another open username conflict waits for is a 409 naming username", async () => {
    const holderX = await newUser("kw-x");
    await newUser("kw-y");
    await uploadExport("kw-1", {
      users: [
        { id: 763, username: "kw-x" },
        { id: 764, username: "kw-y" },
      ],
      files: [],
    });
    expect(await runJob("delta", "kw-1")).toMatchObject({ state: "completed_with_failures", conflicts: { open: 2 } });
    const waitsForX = await openConflict(763, "username");
    const waitsForY = await openConflict(764, "username");
    // 'kw-x' becomes free in D1 while legacy user 763 still waits for it (its conflict is open).
    await env.DB.prepare(`UPDATE users SET username = 'kw-x-elsewhere' WHERE id = ?`).bind(holderX.id).run();

    for (const action of ["rename-new", "rename-legacy"] as const) {
      const refused = await resolve(waitsForY, { action, username: "kw-x" });
      expect(refused, action).toMatchObject({ status: 409, body: { field: "username", error: expect.stringContaining(`conflict #${waitsForX}`) } });
    }
    expect((await adminJson(`/admin/conflicts/${waitsForY}`)).body).toMatchObject({ state: "open" });
    expect(await resolve(waitsForY, { action: "rename-new", username: "kw-y-new" })).toMatchObject({ status: 200 });

    // The next delta imports both under their legacy names: no conflict reopens.
    expect(await runJob("delta", "kw-1")).toMatchObject({ state: "completed", users: { migrated: 2 }, conflicts: { total: 0 } });
    expect(await d1Row("users", 763)).toMatchObject({ username: "kw-x" });
    expect(await d1Row("users", 764)).toMatchObject({ username: "kw-y" });
  });

  it("a name freed by a rename-new stays reserved for its legacy user until the next import job", async () => {
    await newUser("kp-x");
    await newUser("kp-y");
    await uploadExport("kp-1", {
      users: [
        { id: 765, username: "kp-x" },
        { id: 766, username: "kp-y" },
      ],
      files: [],
    });
    expect(await runJob("delta", "kp-1")).toMatchObject({ state: "completed_with_failures", conflicts: { open: 2 } });
    const waitsForX = await openConflict(765, "username");
    const waitsForY = await openConflict(766, "username");
    expect(await resolve(waitsForX, { action: "rename-new", username: "kp-x-new" })).toMatchObject({ status: 200 });

    // 'kp-x' is free in D1, but legacy user 765 takes it at the next delta.
    expect(await resolve(waitsForY, { action: "rename-new", username: "kp-x" })).toMatchObject({ status: 409, body: { field: "username" } });
    expect(await resolve(waitsForY, { action: "rename-new", username: "kp-y-new" })).toMatchObject({ status: 200 });

    expect(await runJob("delta", "kp-1")).toMatchObject({ state: "completed", users: { migrated: 2 }, conflicts: { total: 0 } });
    expect(await d1Row("users", 765)).toMatchObject({ username: "kp-x" });
    expect(await d1Row("users", 766)).toMatchObject({ username: "kp-y" });
  });
});
