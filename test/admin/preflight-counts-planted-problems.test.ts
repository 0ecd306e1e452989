import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_FILES_PER_SECOND, DEFAULT_MIB_PER_SECOND } from "../../src/preflight/estimate";
import type { Failure } from "../../src/coordinator/model";
import { adminJson, clearFaults, corpus, fastRetries, newUser, originStats, putExport, resetOriginStats, resetPrimaryCoordinator, startJob, waitForJob } from "../helpers";
import type { Corpus } from "../legacy-origin/corpus";
import { exportWith, preflight, storedState } from "./preflight-helpers";

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
const HELD = uuid(900);
const user = (id: number, username: string, email: string, isActive = "t") => ({
  id,
  username,
  email,
  password: "pbkdf2_sha256$1000$salt$aGFzaA==",
  first_name: "",
  last_name: "",
  date_joined: "2023-01-01 00:00:00+00",
  last_login: "",
  is_active: isActive,
  is_staff: "f",
  is_superuser: "f",
});
const file = (id: number, userId: number, fileId: string, path: string, metadata: object = { size: 10 }, systemTags = "{}") => ({
  id,
  user_id: userId,
  file_id: fileId,
  file_name: `planted_${id}.csv`,
  file_path: path,
  uploaded_at: "2024-01-01 00:00:00+00",
  system_tags: systemTags,
  user_tags: "{}",
  metadata: JSON.stringify(metadata),
});
const filter = (id: number, userId: number) => ({ id, user_id: userId, file_id: "", name: `planted ${id}`, description: "", filter_config: "{}", created_at: "2024-01-01 00:00:00+00" });

describe("preflight on an export with planted problems", () => {
  let c: Corpus;
  let main: Corpus["files"];

  beforeAll(async () => {
    await resetPrimaryCoordinator();
    await clearFaults();
    c = await corpus();
    main = c.files.filter((f) => !f.oversize);
    // In D1 before the preflight: a new-app user named "clash" (clash@example.com) and a new-app file holding HELD.
    const clash = await newUser("clash");
    await env.DB.prepare(`INSERT INTO files (id, user_id, file_name, r2_key, size, checksum, uploaded_at, num) VALUES (?, ?, 'mine.csv', 'uploads/mine.csv', 1, 'x', '2024-01-01', 1000000001)`)
      .bind(HELD, clash.id)
      .run();

    const users = await exportWith("users", [
      user(9, "clash", "clash@legacy.example"), // line 10: username held by the new-app user → kept out
      user(10, "mailer", "Clash@Example.COM"), // 11: a new-app user's email (any case) → imported, email_taken
      user(11, "broken", "broken@example.com", "maybe"), // 12: bad row
    ]);
    const filters = await exportWith("filters", [
      filter(200, 9), // line 7: user kept out by the username conflict
      filter(201, 77), // 8: unknown user (D1's foreign key refuses it)
    ]);
    const files = await exportWith("files", [
      file(1001, 1, uuid(1001), "/etc/passwd"), // line 31: unsafe
      file(1002, 1, uuid(1002), `${c.mediaRoot}/uploads/../../etc/passwd`), // 32: unsafe
      file(1003, 11, uuid(1003), `${c.mediaRoot}/uploads/ghost-a.csv`), // 33: unknown user (its row is bad)
      file(1004, 77, uuid(1004), `${c.mediaRoot}/uploads/ghost-b.csv`), // 34: unknown user
      file(1005, 78, uuid(1005), `${c.mediaRoot}/uploads/ghost-c.csv`), // 35: unknown user
      file(1006, 1, "not-a-uuid", `${c.mediaRoot}/uploads/x.csv`), // 36: bad row
      file(1007, 1, uuid(1007), `${c.mediaRoot}/uploads/y.csv`, {}, "{unclosed"), // 37: bad row
      file(1008, 1, main[0]!.fileId, main[0]!.filePath), // 38: duplicate file_id
      file(1009, 1, HELD, `${c.mediaRoot}/uploads/held.csv`), // 39: file_id held in D1 by another file
      file(1010, 9, uuid(1010), `${c.mediaRoot}/uploads/clash.csv`), // 40: user kept out by the username conflict
      file(1011, 2, uuid(1011), `${c.mediaRoot}/uploads/does-not-exist.csv`, { size: 123 }), // 41: copied, but 404 on the origin
      file(1012, 3, uuid(1012), main[1]!.filePath, { size: main[1]!.size + 1 }), // 42: copied, declared size wrong
      file(1013, 4, uuid(1013), main[2]!.filePath, {}), // 43: copied, no declared size
      file(1014, 1, uuid(1014), `${c.mediaRoot}/uploads/${"a".repeat(5_000)}.csv`), // 44: bad row (file_path too long)
    ]);
    for (const [table, csv] of Object.entries({ users, filters, files })) expect((await putExport("planted", table, csv)).status).toBe(201);
  });

  it("counts each planted problem exactly, and writes nothing", async () => {
    const before = await storedState();
    await resetOriginStats();

    const { status, body: report } = await preflight({ exportSet: "planted", sample: 200 });

    expect(status).toBe(200);
    const mainBytes = main.reduce((sum, f) => sum + f.size, 0);
    const bytesDeclared = mainBytes + 123 + main[1]!.size + 1;
    expect(report).toMatchObject({
      exportSet: "planted",
      users: { rows: 11, wouldImport: 9 },
      filters: { rows: 7, wouldImport: 5, deletedOnNew: 0 },
      files: { rows: main.length + 14, wouldCopy: main.length + 3, alreadyInD1: 0, deletedOnNew: 0, bytesDeclared, undeclaredSize: 1 },
      refused: {
        badRows: { users: 1, filters: 0, files: 3 },
        unsafePath: 2,
        unknownUser: 3,
        duplicateFileId: 1,
        tooLarge: 0,
        userInConflict: { filters: 1, files: 1 },
        filterUnknownUser: 1,
      },
      conflicts: {
        username: 1,
        email: 1,
        fileIdHeld: 1,
        idHeld: { users: 0, filters: 0 },
        changedOnBothSides: { users: 0, filters: 0, files: 0 },
        openInCoordinator: 0,
      },
      sample: { checked: main.length + 3, ok: main.length + 1, missing: 1, sizeMismatch: 1, tooLarge: 0, errors: 0 },
      jobWouldFail: null,
      truncated: false,
    });
    expect(Date.parse(report.exportedAt)).toBeGreaterThan(0);

    const problems = (report.problems as { table: string; line: number; reason: string }[]).map((p) => `${p.table}:${p.line}:${p.reason}`).sort();
    expect(problems).toEqual(
      [
        "users:10:username_taken",
        "users:11:email_taken",
        "users:12:bad_row",
        "filters:7:user_in_conflict",
        "filters:8:unknown_user",
        "files:31:unsafe_path",
        "files:32:unsafe_path",
        "files:33:unknown_user",
        "files:34:unknown_user",
        "files:35:unknown_user",
        "files:36:bad_row",
        "files:37:bad_row",
        "files:44:bad_row",
        "files:38:duplicate_file_id",
        "files:39:file_id_held",
        "files:40:user_in_conflict",
      ].sort(),
    );

    const sampled = Object.fromEntries((report.sample.items as { fileId: string; outcome: string; status: number; size: number; declared: number }[]).map((i) => [i.fileId, i]));
    expect(sampled[uuid(1011)]).toMatchObject({ outcome: "missing", status: 404, declared: 123 });
    expect(sampled[uuid(1012)]).toMatchObject({ outcome: "size_mismatch", status: 200, size: main[1]!.size, declared: main[1]!.size + 1 });
    expect(sampled[uuid(1013)]).toMatchObject({ outcome: "ok", size: main[2]!.size, declared: null });

    const bytes = Math.round(bytesDeclared + bytesDeclared / (main.length + 2));
    expect(report.estimate).toEqual({
      seconds: Math.ceil(Math.max((main.length + 3) / DEFAULT_FILES_PER_SECOND, bytes / (DEFAULT_MIB_PER_SECOND * 1024 * 1024))),
      bytes,
      filesPerSecond: DEFAULT_FILES_PER_SECOND,
      bytesPerSecond: DEFAULT_MIB_PER_SECOND * 1024 * 1024,
      basis: `default: ${DEFAULT_FILES_PER_SECOND} files/s, ${DEFAULT_MIB_PER_SECOND} MiB/s (no finished full or delta job yet)`,
    });

    // Nothing written: D1 and R2 as they were, no job, no conflict; the origin saw one HEAD per sampled file.
    expect(await storedState()).toEqual(before);
    expect(before.r2.every((entry) => entry.startsWith("exports/"))).toBe(true);
    expect((await adminJson("/admin/jobs")).body.jobs).toEqual([]);
    expect((await adminJson("/admin/conflicts")).body.conflicts).toEqual([]);
    expect((await originStats()).requests).toBe(main.length + 3);
  });

  it("meets the same problems as the full job it stands for", async () => {
    const { body: report } = await preflight({ exportSet: "planted", sample: 200 });
    const id = await startJob({ kind: "full", exportSet: "planted", settings: fastRetries });
    const job = await waitForJob(id);
    const { failures } = (await adminJson<{ failures: Failure[] }>(`/admin/jobs/${id}/failures?limit=1000`)).body;

    // Row errors and conflicts, each at its line, in the preflight's words.
    const itemReasons = new Set(["unsafe_path", "unknown_user", "user_in_conflict", "too_large"]);
    const expected = (report.problems as { table: string; line: number; reason: string }[]).filter((p) => !(p.table === "files" && itemReasons.has(p.reason)));
    const met = failures.filter((f) => f.kind !== "item").map((f) => `${f.table}:${f.line}:${f.kind === "conflict" ? f.reason : rowReason(f.detail ?? "")}`);
    expect(met.sort()).toEqual(expected.map((p) => `${p.table}:${p.line}:${p.reason}`).sort());
    // Items failed at planning, and those the origin failed, as the preflight and its sample counted them.
    const items: Record<string, number> = {};
    for (const f of failures.filter((f) => f.kind === "item")) items[f.reason] = (items[f.reason] ?? 0) + 1;
    expect(items).toEqual({
      unsafe_path: report.refused.unsafePath,
      unknown_user: report.refused.unknownUser,
      conflict: report.refused.userInConflict.files,
      not_found: report.sample.missing,
      length_mismatch: report.sample.sizeMismatch,
    });
    expect(job).toMatchObject({
      users: { migrated: report.users.wouldImport },
      filters: { migrated: report.filters.wouldImport },
      items: { total: report.files.wouldCopy + report.refused.unsafePath + report.refused.unknownUser + report.refused.userInConflict.files, done: report.sample.ok },
      conflicts: { total: report.conflicts.username + report.conflicts.email },
    });
  });
});

/** A job's row error in the preflight's words (the job lists them all as invalid_row, with a detail). */
function rowReason(detail: string): string {
  if (/appears more than once/.test(detail)) return "duplicate_file_id";
  if (/is held in D1 by another file/.test(detail)) return "file_id_held";
  if (/is held by a row created in the new app/.test(detail)) return "id_held";
  if (/username conflict #/.test(detail)) return "user_in_conflict";
  if (/FOREIGN KEY/.test(detail)) return "unknown_user";
  return "bad_row";
}
