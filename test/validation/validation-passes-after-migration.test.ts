import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { coordinator } from "../../src/env";
import { CHECK_GROUPS, validationReportSchema, type ValidationReport } from "../../src/validation/report";
import { runValidation } from "../../src/validation/suite";
import { issueToken } from "../../src/app/auth/tokens";
import { api, corpus, fastRetries, newUser, originUrl, putExport, startJob, uploadCorpusExports, waitForJob } from "../helpers";

const failed = (report: ValidationReport) => report.checks.filter((c) => !c.ok);

describe("the validation suite after a full migration of the corpus", () => {
  it("passes, with every group present, each check timed, against the last sync's export set", async () => {
    await uploadCorpusExports("main");
    expect((await waitForJob(await startJob({ kind: "full", exportSet: "main", settings: fastRetries }))).state).toBe("completed");

    const report = await runValidation(env, { sample: 5 });
    expect(failed(report)).toEqual([]);
    expect(validationReportSchema.parse(report)).toEqual(report);
    expect(report).toMatchObject({ ok: true, sample: 5, exportSet: "main" });
    expect([...new Set(report.checks.map((c) => c.group))]).toEqual([...CHECK_GROUPS]);
    expect(report.checks.map((c) => `${c.group}/${c.name}`)).toEqual([
      "authentication/canary-account",
      "authentication/legacy-tokens",
      "files/app-download",
      "files/legacy-origin",
      "processing/cut-and-export",
      "integrity/export-rows",
      "integrity/r2-objects",
    ]);
    for (const check of report.checks) expect(check.ms).toBeGreaterThanOrEqual(0);
    expect(report.durationMs).toBe(Date.parse(report.finishedAt) - Date.parse(report.startedAt));

    const legacy = await corpus();
    const files = legacy.files.filter((f) => !f.oversize);
    const byName = Object.fromEntries(report.checks.map((c) => [c.name, c.detail]));
    expect(byName["legacy-tokens"]).toMatch(/^5 of 5 sampled migrated users/);
    expect(byName["app-download"]).toMatch(/^5 of 5 sampled migrated files/);
    expect(byName["legacy-origin"]).toMatch(/for 5 of 5 files$/);
    expect(byName["export-rows"]).toContain(`users.csv: ${legacy.users.length} rows, ${legacy.users.length} in D1; files.csv: ${files.length} rows, ${files.length} in D1; filters.csv: ${legacy.filters.length} rows, ${legacy.filters.length} in D1`);
    expect(byName["r2-objects"]).toMatch(new RegExp(`^${files.length} D1 files and ${files.length} R2 objects`));

    // The canary account stays (a user of the new app); its upload does not.
    const canary = /registered (lc-validate-\d{14}-[0-9a-f]{4}) \(user (\d+)\)/.exec(byName["canary-account"]!);
    expect(canary).not.toBeNull();
    expect(await env.DB.prepare(`SELECT id, legacy_id FROM users WHERE username = ?`).bind(canary![1]).first()).toEqual({ id: Number(canary![2]), legacy_id: null });
    expect(await env.DB.prepare(`SELECT count(*) AS n FROM scratch_files WHERE user_id = ?`).bind(Number(canary![2])).first()).toEqual({ n: 0 });
    expect((await env.FILES.list({ prefix: "cuts/" })).objects).toEqual([]);
  });

  it("takes the export set it is given, and samples at most what there is", async () => {
    const report = await runValidation(env, { sample: 100, exportSet: "main" });
    expect(failed(report)).toEqual([]);
    const files = (await corpus()).files.filter((f) => !f.oversize).length;
    expect(report.checks.find((c) => c.name === "app-download")!.detail).toMatch(new RegExp(`^${files} of ${files} sampled`));
  });

  it("fails the legacy-token check alone, saying why, when LEGACY_JWT_SECRET is not set", async () => {
    const report = await runValidation({ ...env, LEGACY_JWT_SECRET: undefined }, { sample: 3 });
    expect(failed(report).map((c) => [c.name, c.detail])).toEqual([["legacy-tokens", expect.stringMatching(/^LEGACY_JWT_SECRET is not set/)]]);
    expect(report.ok).toBe(false);
  });

  it("runs inside the coordinator Durable Object, as the cutover run's alarm does", async () => {
    const report = await runInDurableObject(coordinator(env), () => runValidation(env, { sample: 2 }));
    expect(failed(report)).toEqual([]);
    expect(report.exportSet).toBe("main");
  });

  it("counts rows the new app deleted, and rows of users an open username conflict holds back, apart from failures", async () => {
    const legacy = await corpus();
    const deleted = legacy.files[0]!;
    const token = await issueToken(env, deleted.userId, "access");
    expect((await api(`/api/list_cutter/delete/${deleted.fileId}/`, { method: "DELETE", token })).status).toBe(204);
    // A legacy user registered on legacy under a name a new-app user took first: not imported, nor its file.
    await newUser("taken_name");
    const users = await (await fetch(`${originUrl}/__exports/users.csv`)).text();
    const files = await (await fetch(`${originUrl}/__exports/files.csv?files=main`)).text();
    expect((await putExport("later", "users", `${users}9,${legacy.users[0]!.passwordHash},,f,taken_name,,,,f,t,2023-01-02 03:04:05+00\n`)).status).toBe(201);
    expect((await putExport("later", "files", `${files}99,9,${crypto.randomUUID()},held.csv,/app/media/uploads/held.csv,2024-02-03 04:05:06+00,{},{},{}\n`)).status).toBe(201);
    const delta = await waitForJob(await startJob({ kind: "delta", exportSet: "later", settings: fastRetries }));
    expect(delta).toMatchObject({ state: "completed_with_failures", conflicts: { open: 1 } });

    const report = await runValidation(env, { sample: 3 });
    expect(failed(report)).toEqual([]);
    expect(report.exportSet).toBe("later");
    const kept = legacy.files.filter((f) => !f.oversize).length;
    expect(report.checks.find((c) => c.name === "export-rows")!.detail).toContain(
      `users.csv: ${legacy.users.length + 1} rows, ${legacy.users.length} in D1, 1 held back by open username conflicts (not failures); ` +
        `files.csv: ${kept + 1} rows, ${kept - 1} in D1, 1 deleted on the new app, 1 held back by open username conflicts (not failures); no filters.csv`,
    );
  });

  it("refuses a sample out of bounds", async () => {
    await expect(runValidation(env, { sample: 0 })).rejects.toThrow(RangeError);
    await expect(runValidation(env, { sample: 101 })).rejects.toThrow(RangeError);
  });
});
