import { describe, expect, it } from "vitest";
import { makePassword } from "../../src/app/auth/passwords";
import { TEST_PASSWORD_ITERATIONS } from "../config";
import { adminJson, apiJson } from "../helpers";
import { d1Row, legacyPaths, runJob, uploadExport } from "./canary";

const login = (username: string, password: string) => apiJson("/api/accounts/login/", { username, password });

async function openConflictsOf(userId: number): Promise<unknown[]> {
  const { conflicts } = (await adminJson<{ conflicts: { table: string; rowKey: string }[] }>(`/admin/conflicts?state=open&limit=500`)).body;
  return conflicts.filter((c) => c.table === "users" && c.rowKey === String(userId));
}

describe("legacy is the authority for a user's password and is_active", () => {
  it("a password changed on legacy after the new app re-hashed the old one upward arrives with the next delta: the old password stops working, no conflict", async () => {
    const [path] = await legacyPaths();
    const user = { id: 791, username: "pw-changer" };
    const files = [{ id: 7911, userId: user.id, fileId: crypto.randomUUID(), path: path! }];
    await uploadExport("pw-1", { users: [{ ...user, password: await makePassword("old-password-1", 1000) }], files });
    expect(await runJob("full", "pw-1")).toMatchObject({ state: "completed", users: { migrated: 1 } });

    // A login on the new app re-hashes the weak legacy hash upward: D1 now differs from the base.
    expect((await login(user.username, "old-password-1")).status).toBe(200);
    const rehashed = (await d1Row("users", user.id))!.password_hash as string;
    expect(rehashed.startsWith(`pbkdf2_sha256$${TEST_PASSWORD_ITERATIONS}$`)).toBe(true);
    expect(JSON.parse((await d1Row("users", user.id))!.legacy_base).password_hash.startsWith("pbkdf2_sha256$1000$")).toBe(true);

    // Legacy did not change the password: the re-hash survives a delta.
    expect(await runJob("delta", "pw-1")).toMatchObject({ state: "completed", legacyChanges: 0, conflicts: { total: 0 } });
    expect(await d1Row("users", user.id)).toMatchObject({ password_hash: rehashed });

    // The user changes their password on legacy (say, because the old one leaked).
    const newHash = await makePassword("new-password-2", 1000);
    await uploadExport("pw-2", { users: [{ ...user, password: newHash }], files });
    expect(await runJob("delta", "pw-2")).toMatchObject({ state: "completed", legacyChanges: 1, conflicts: { open: 0, total: 0 } });
    expect(await openConflictsOf(user.id)).toEqual([]);
    expect(await d1Row("users", user.id)).toMatchObject({ changed_on: "legacy" });
    expect(await login(user.username, "old-password-1")).toMatchObject({ status: 401 });
    expect(await login(user.username, "new-password-2")).toMatchObject({ status: 200, body: { access: expect.any(String) } });

    // That login re-hashed the new password; legacy then deactivates the user: it arrives, the re-hash is kept, no conflict.
    const rehashedAgain = (await d1Row("users", user.id))!.password_hash as string;
    expect(rehashedAgain.startsWith(`pbkdf2_sha256$${TEST_PASSWORD_ITERATIONS}$`)).toBe(true);
    await uploadExport("pw-3", { users: [{ ...user, password: newHash, isActive: false }], files });
    expect(await runJob("delta", "pw-3")).toMatchObject({ state: "completed", legacyChanges: 1, conflicts: { total: 0 } });
    expect(await d1Row("users", user.id)).toMatchObject({ is_active: 0, password_hash: rehashedAgain });
    expect(await login(user.username, "new-password-2")).toMatchObject({ status: 401 });
    expect(await openConflictsOf(user.id)).toEqual([]);
  });
});
