import { env } from "cloudflare:workers";
import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import { coordinator } from "../../src/env";
import { uploadKey } from "../../src/legacy/paths";
import { admin, adminJson, api, apiJson } from "../helpers";
import { d1Row, deliverCopy, failuresOf, legacyPaths, resolve, runJob, tagsOf, tokenFor, uploadExport } from "./canary";

describe("imports during a two-way canary: the new side wins what it changed", () => {
  it("a migrated file or filter deleted on the new app stays deleted through delta and full jobs", async () => {
    const [pathA, pathB] = await legacyPaths();
    const kept = { id: 7012, userId: 701, fileId: crypto.randomUUID(), path: pathB! };
    const gone = { id: 7011, userId: 701, fileId: crypto.randomUUID(), path: pathA! };
    const filter = { id: 70011, userId: 701, fileId: gone.fileId, name: "on the deleted file" };
    await uploadExport("tomb", { users: [{ id: 701, username: "tomb-owner" }], files: [gone, kept], filters: [filter] });
    expect(await runJob("full", "tomb")).toMatchObject({ state: "completed", items: { done: 2 }, filters: { migrated: 1 }, legacyChanges: 4 });

    const token = await tokenFor(701);
    const { num } = (await d1Row("files", gone.fileId))!;
    expect((await api(`/api/list_cutter/delete/${num}/`, { method: "DELETE", token })).status).toBe(204);
    expect((await api(`/api/list_cutter/filters/${filter.id}/`, { method: "DELETE", token })).status).toBe(204);
    const graves = await env.DB.prepare(`SELECT tbl, row_id, legacy_id FROM tombstones ORDER BY tbl`).all();
    expect(graves.results).toEqual([
      { tbl: "files", row_id: gone.fileId, legacy_id: gone.id },
      { tbl: "saved_filters", row_id: String(filter.id), legacy_id: filter.id },
    ]);

    for (const kind of ["delta", "full"] as const) {
      const job = await runJob(kind, "tomb");
      expect(job, kind).toMatchObject({ state: "completed", deletedOnNew: { files: 1, filters: 1 }, legacyChanges: 0, items: { total: kind === "full" ? 1 : 0, failed: 0 } });
      expect(await d1Row("files", gone.fileId), kind).toBeNull();
      expect(await env.FILES.head(uploadKey(701, gone.fileId)), kind).toBeNull();
      expect(await d1Row("saved_filters", filter.id), kind).toBeNull();
      expect(await d1Row("files", kept.fileId), kind).not.toBeNull();
    }

    // A copy already under way when the file was deleted: its row is not written and its object is removed again.
    await deliverCopy({ ...gone, userId: 701 });
    expect(await d1Row("files", gone.fileId)).toBeNull();
    expect(await env.FILES.head(uploadKey(701, gone.fileId))).toBeNull();
  });

  it("tags added and a saved filter edited on the new app survive a full job; legacy's edit of another field arrives", async () => {
    const [path] = await legacyPaths();
    const file = { id: 7111, userId: 711, fileId: crypto.randomUUID(), path: path!, userTags: ["legacy"] };
    const filter = { id: 71101, userId: 711, fileId: file.fileId, name: "legacy name" };
    const users = [{ id: 711, username: "keep-owner" }];
    await uploadExport("keep-1", { users, files: [file], filters: [filter] });
    expect(await runJob("full", "keep-1")).toMatchObject({ state: "completed" });
    expect(await d1Row("files", file.fileId)).toMatchObject({ changed_on: "legacy" });

    const token = await tokenFor(711);
    expect((await apiJson(`/api/list_cutter/update_tags/${file.id}/`, { user_tags: ["mine"] }, { method: "PATCH", token })).status).toBe(200);
    expect((await apiJson(`/api/list_cutter/filters/${filter.id}/`, { name: "new name" }, { method: "PATCH", token })).status).toBe(200);

    expect(await runJob("full", "keep-1")).toMatchObject({ state: "completed", conflicts: { open: 0, total: 0 }, legacyChanges: 0 });
    expect(await tagsOf(file.fileId)).toEqual(["legacy", "mine"]);
    expect(await d1Row("files", file.fileId)).toMatchObject({ changed_on: "new" });
    expect(await d1Row("saved_filters", filter.id)).toMatchObject({ name: "new name", changed_on: "new" });

    // Legacy changes another field of that filter: it arrives, and the new name stays.
    await uploadExport("keep-2", { users, files: [file], filters: [{ ...filter, description: "from legacy" }] });
    expect(await runJob("delta", "keep-2")).toMatchObject({ state: "completed", legacyChanges: 1, conflicts: { total: 0 } });
    expect(await d1Row("saved_filters", filter.id)).toMatchObject({ name: "new name", description: "from legacy", changed_on: "legacy" });
  });

  it("a legacy edit of an untouched file arrives with a delta; one changed on both sides is a conflict, resolved by keep-legacy", async () => {
    const [pathA, pathB] = await legacyPaths();
    const users = [{ id: 721, username: "edit-owner" }];
    const untouched = { id: 7211, userId: 721, fileId: crypto.randomUUID(), path: pathA!, userTags: ["a"] };
    const both = { id: 7212, userId: 721, fileId: crypto.randomUUID(), path: pathB!, userTags: ["a"] };
    await uploadExport("edit-1", { users, files: [untouched, both] });
    expect(await runJob("full", "edit-1")).toMatchObject({ state: "completed" });
    const token = await tokenFor(721);
    expect((await apiJson(`/api/list_cutter/update_tags/${both.id}/`, { user_tags: ["new-side"] }, { method: "PATCH", token })).status).toBe(200);

    await uploadExport("edit-2", { users, files: [{ ...untouched, userTags: ["a", "legacy-edit"] }, { ...both, userTags: ["a", "legacy-other"] }] });
    const delta = await runJob("delta", "edit-2");
    expect(delta).toMatchObject({ state: "completed_with_failures", items: { total: 0 }, legacyChanges: 1, conflicts: { open: 1, total: 1 } });
    expect(await tagsOf(untouched.fileId)).toEqual(["a", "legacy-edit"]);
    expect(await tagsOf(both.fileId)).toEqual(["a", "new-side"]);

    const failures = await failuresOf(delta.id);
    expect(failures).toEqual([
      { kind: "conflict", fileId: both.fileId, table: "files", line: 3, source: null, reason: "changed_on_both_sides", detail: expect.stringContaining("user_tags"), attempts: 0, conflictId: expect.any(Number) },
    ]);
    const conflictId = failures[0]!.conflictId!;
    const csv = await (await admin(`/admin/jobs/${delta.id}/failures`, { headers: { accept: "text/csv" } })).text();
    const [, record] = Papa.parse<string[]>(csv, { skipEmptyLines: true }).data;
    expect(record!.slice(0, 6)).toEqual(["conflict", both.fileId, "files", "3", "", "changed_on_both_sides"]);
    expect(record![6]).toContain(`conflict #${conflictId}`);

    const open = (await adminJson(`/admin/conflicts?state=open`)).body.conflicts;
    expect(open.find((c: any) => c.id === conflictId)).toMatchObject({
      table: "files",
      rowKey: both.fileId,
      field: "fields",
      jobIds: [delta.id],
      detail: { fields: { user_tags: { base: '["a"]', local: '["a","new-side"]', remote: '["a","legacy-other"]' } } },
    });

    const resolved = await resolve(conflictId, { action: "keep-legacy" });
    expect(resolved).toMatchObject({ status: 200, body: { conflict: { id: conflictId, state: "resolved", resolution: { action: "keep-legacy", applied: true } } } });
    expect(await tagsOf(both.fileId)).toEqual(["a", "legacy-other"]);
    expect(await d1Row("files", both.fileId)).toMatchObject({ changed_on: "legacy" });
    expect(await resolve(conflictId, { action: "keep-new" })).toMatchObject({ status: 409 });
    expect(await resolve(999_999, { action: "keep-new" })).toMatchObject({ status: 404 });
    expect((await failuresOf(delta.id))[0]!.detail).toContain("[resolved: keep-legacy]");
    const audit = await env.DB.prepare(`SELECT actor, target FROM audit_logs WHERE action = 'conflict.resolve'`).all();
    expect(audit.results).toContainEqual({ actor: expect.any(String), target: `conflict:${conflictId}` });

    // The same export again: nothing left to merge, nothing reported again.
    expect(await runJob("delta", "edit-2")).toMatchObject({ state: "completed", legacyChanges: 0, conflicts: { total: 0 } });
    expect(await tagsOf(both.fileId)).toEqual(["a", "legacy-other"]);

    const status = await coordinator(env).syncStatus();
    expect(status.lastSync).toMatchObject({ kind: "delta", state: "completed", legacyChanges: 0, exportedAt: expect.any(String) });
    expect(status.lagSeconds).toBeGreaterThanOrEqual(0);
  });
});
