import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Failure } from "../../src/coordinator/model";
import { exportObjectKey, MAX_FILE_PATH_LENGTH } from "../../src/legacy/export-contract";
import { uploadKey } from "../../src/legacy/paths";
import { adminJson, corpus, fastRetries, originStats, putExport, resetOriginStats, sha256Hex, startJob, waitForJob } from "../helpers";

const USERS = `id,username,email,password,first_name,last_name,date_joined,last_login,is_active,is_staff,is_superuser
1,ann,ann@example.com,pbkdf2_sha256$1000$s$aA==,Ann,A,2023-01-01 00:00:00+00,,t,f,f
2,bob,bob@example.com,pbkdf2_sha256$1000$s$bB==,Bob,B,2023-01-01 00:00:00+00,,maybe,f,f
3,cat,cat@example.com,pbkdf2_sha256$1000$s$cC==,Cat
4,"dan
the second",dan@example.com,pbkdf2_sha256$1000$s$dD==,Dan,D,2023-01-01 00:00:00+00,,t,f,f
5,,eve@example.com,pbkdf2_sha256$1000$s$eE==,Eve,E,2023-01-01 00:00:00+00,,t,f,f
6,fay,fay@example.com,pbkdf2_sha256$1000$s$fF==,Fay,F,yesterday,,t,f,f
7,ann,ann2@example.com,pbkdf2_sha256$1000$s$gG==,Ann,Again,2023-01-01 00:00:00+00,,t,f,f
`;

describe("bad export rows and unsafe paths", () => {
  it("reports every bad row with its line, fails unsafe paths without fetching them, and copies the rest", async () => {
    const good = (await corpus()).files.find((f) => !f.oversize && f.size > 100)!;
    const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
    const row = (id: number, user: number, fileId: string, path: string, tags = "{}") => `${id},${user},${fileId},f${id}.csv,${JSON.stringify(path)},2024-01-01 00:00:00+00,${tags},{},{}`;
    const files = [
      "id,user_id,file_id,file_name,file_path,uploaded_at,system_tags,user_tags,metadata",
      row(1, 1, good.fileId, good.filePath), // line 2: copied
      row(2, 1, uuid(2), "/etc/passwd"), // 3: outside MEDIA_ROOT
      row(3, 1, uuid(3), "/app/media/uploads/../../../etc/passwd"), // 4: '..'
      row(4, 1, uuid(4), "http://evil.example/steal.csv"), // 5: scheme
      row(5, 1, uuid(5), "/app/media/uploads/nul\u0000.csv"), // 6: NUL
      row(6, 1, "not-a-uuid", "/app/media/uploads/x.csv"), // 7: bad file_id
      row(7, 99, uuid(7), "/app/media/uploads/x.csv"), // 8: user 99 was never imported
      row(8, 1, good.fileId, good.filePath), // 9: duplicate file_id
      row(9, 1, uuid(9), "/app/media/uploads/y.csv", "{unclosed"), // 10: bad array literal
      row(10, 1, uuid(10), "/app/media//uploads/z.csv"), // 11: empty segment
      row(11, 1, uuid(11), `/app/media/uploads/${"a".repeat(5_000)}.csv`), // 12: file_path too long
      `12,1,${uuid(12)},"broken.csv,/app/media/uploads/b.csv,2024-01-01 00:00:00+00,{},{},{}`, // 13: unterminated quote
    ].join("\n");
    expect((await putExport("bad", "users", USERS)).status).toBe(201);
    expect((await putExport("bad", "files", files)).status).toBe(201);
    await resetOriginStats();

    const id = await startJob({ kind: "full", exportSet: "bad", settings: fastRetries });
    const job = await waitForJob(id);

    expect(job.state).toBe("completed_with_failures");
    expect(job.users.migrated).toBe(2);
    expect(job.items).toMatchObject({ total: 7, done: 1, failed: 6 });
    const { body } = await adminJson<{ failures: Failure[] }>(`/admin/jobs/${id}/failures`);
    const rows = body.failures.filter((f) => f.kind === "row").map((f) => [f.table, f.line, f.detail]);
    expect(rows).toEqual([
      ["files", 7, "file_id: must be a UUID"],
      ["files", 9, `file_id: ${good.fileId} appears more than once`],
      ["files", 10, "system_tags: not an array literal: {unclosed"],
      ["files", 12, `file_path: must be at most ${MAX_FILE_PATH_LENGTH} characters`],
      ["files", 13, "Quoted field unterminated"],
      ["users", 3, "is_active: not a boolean: maybe"],
      ["users", 4, "expected 11 fields, found 5"],
      ["users", 7, "username: is required"],
      ["users", 8, "date_joined: not a timestamp: yesterday"],
      ["users", 9, "UNIQUE constraint failed: users.username"],
    ]);
    const items = Object.fromEntries(body.failures.filter((f) => f.kind === "item").map((f) => [f.fileId, f.reason]));
    expect(items).toEqual({
      [uuid(2)]: "unsafe_path",
      [uuid(3)]: "unsafe_path",
      [uuid(4)]: "unsafe_path",
      [uuid(5)]: "unsafe_path",
      [uuid(7)]: "unknown_user",
      [uuid(10)]: "unsafe_path",
    });

    const fetched = Object.keys((await originStats()).byPath);
    expect(fetched).toEqual([good.relativePath]);
    expect(await sha256Hex((await env.FILES.get(uploadKey(1, good.fileId)))!.body)).toBe(good.sha256);
    const dan = await env.DB.prepare(`SELECT username FROM users WHERE id = 4`).first<{ username: string }>();
    expect(dan).toEqual({ username: "dan\nthe second" });
  });

  it("fails a job whose stored export lacks a required column, naming it", async () => {
    await env.FILES.put(exportObjectKey("raw", "users"), "id,username\n1,ann\n");
    await env.FILES.put(exportObjectKey("raw", "files"), "id\n");
    const job = await waitForJob(await startJob({ kind: "full", exportSet: "raw", settings: fastRetries }));
    expect(job).toMatchObject({ state: "failed", error: "users.csv is missing required column(s): email, password, first_name, last_name, date_joined, last_login, is_active, is_staff, is_superuser" });
  });

  it("fails a job whose export is not UTF-8", async () => {
    const header = new TextEncoder().encode("id,username,email,password,first_name,last_name,date_joined,last_login,is_active,is_staff,is_superuser\n1,");
    await env.FILES.put(exportObjectKey("latin1", "users"), new Uint8Array([...header, 0xe9, 0x0a]));
    await env.FILES.put(exportObjectKey("latin1", "files"), "id\n");
    const job = await waitForJob(await startJob({ kind: "full", exportSet: "latin1", settings: fastRetries }));
    expect(job).toMatchObject({ state: "failed", error: "users.csv is not valid UTF-8 (after line 1)" });
  });
});
