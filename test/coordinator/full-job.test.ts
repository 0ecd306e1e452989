import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { uploadKey } from "../../src/legacy/paths";
import { adminJson, corpus, fastRetries, originStats, resetOriginStats, sha256Hex, startJob, uploadCorpusExports, waitForJob } from "../helpers";

async function d1Count(table: string): Promise<number> {
  return (await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())!.n;
}

describe("a full job over the legacy corpus", () => {
  it("ends completed with every file in R2 byte-identical to the origin and D1 counts equal to the export", async () => {
    const legacy = await corpus();
    const files = legacy.files.filter((f) => !f.oversize);
    await uploadCorpusExports("main");
    await resetOriginStats();

    const id = await startJob({ kind: "full", exportSet: "main", settings: { ...fastRetries, maxInFlight: 8 } });
    const job = await waitForJob(id);

    expect(job.state).toBe("completed");
    expect(job.items).toEqual({ total: files.length, pending: 0, leased: 0, done: files.length, failed: 0 });
    expect(job.bytes.done).toBe(files.reduce((n, f) => n + f.size, 0));
    expect(job.users.migrated).toBe(legacy.users.length);
    expect(job.filters.migrated).toBe(legacy.filters.length);
    expect((await originStats()).maxInFlight).toBeLessThanOrEqual(8);

    for (const f of files) {
      const object = await env.FILES.get(uploadKey(f.userId, f.fileId));
      expect(object, f.relativePath).not.toBeNull();
      expect(object!.size).toBe(f.size);
      expect(await sha256Hex(object!.body)).toBe(f.sha256);
    }
    expect(await d1Count("users")).toBe(legacy.users.length);
    expect(await d1Count("files")).toBe(files.length);
    expect(await d1Count("saved_filters")).toBe(legacy.filters.length);

    const quoted = files.find((f) => f.fileName.includes('"'))!;
    const row = await env.DB.prepare(`SELECT * FROM files WHERE id = ?`).bind(quoted.fileId).first<Record<string, any>>();
    expect(row).toMatchObject({ user_id: quoted.userId, legacy_id: quoted.id, file_name: quoted.fileName, size: quoted.size, checksum: quoted.sha256, row_count: quoted.rows, column_count: quoted.columns.length, r2_key: uploadKey(quoted.userId, quoted.fileId) });
    expect(JSON.parse(row!.columns_metadata)).toEqual(quoted.columns);
    expect(JSON.parse(row!.user_tags)).toEqual(["imported", `tag ${quoted.id}`]);
    const user = await env.DB.prepare(`SELECT * FROM users WHERE id = ?`).bind(legacy.users[0]!.id).first<Record<string, any>>();
    expect(user).toMatchObject({ legacy_id: 1, username: "user1", password_hash: legacy.users[0]!.passwordHash, is_superuser: 1, is_active: 1 });
  });

  it("re-running the same job changes nothing: no duplicates, no object rewritten", async () => {
    const legacy = await corpus();
    const files = legacy.files.filter((f) => !f.oversize);
    const before = new Map<string, number>();
    for (const f of files) before.set(f.fileId, (await env.FILES.head(uploadKey(f.userId, f.fileId)))!.uploaded.getTime());

    const id = await startJob({ kind: "full", exportSet: "main", settings: fastRetries });
    const job = await waitForJob(id);

    expect(job.state).toBe("completed");
    expect(job.items.done).toBe(files.length);
    expect(await d1Count("users")).toBe(legacy.users.length);
    expect(await d1Count("files")).toBe(files.length);
    expect(await d1Count("saved_filters")).toBe(legacy.filters.length);
    for (const f of files) {
      expect((await env.FILES.head(uploadKey(f.userId, f.fileId)))!.uploaded.getTime(), f.relativePath).toBe(before.get(f.fileId));
    }
    const { body } = await adminJson("/admin/jobs");
    expect(body.jobs.map((j: any) => j.state)).toEqual(["completed", "completed"]);
  });

  it("a delta job copies only what D1 does not hold yet", async () => {
    const legacy = await corpus();
    const files = legacy.files.filter((f) => !f.oversize);
    const none = await waitForJob(await startJob({ kind: "delta", exportSet: "main", settings: fastRetries }));
    expect(none).toMatchObject({ state: "completed", items: { total: 0 }, users: { migrated: legacy.users.length } });

    const lost = files[3]!;
    await env.DB.prepare(`DELETE FROM files WHERE id = ?`).bind(lost.fileId).run();
    const one = await waitForJob(await startJob({ kind: "delta", exportSet: "main", settings: fastRetries }));
    expect(one).toMatchObject({ state: "completed", items: { total: 1, done: 1 } });
    expect(await d1Count("files")).toBe(files.length);
  });
});
