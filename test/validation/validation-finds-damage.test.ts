import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../src/env";
import { uploadKey } from "../../src/legacy/paths";
import type { ValidationReport } from "../../src/validation/report";
import { runValidation } from "../../src/validation/suite";
import { corpus, fastRetries, originUrl, putExport, startJob, uploadCorpusExports, waitForJob } from "../helpers";

/** A legacy user with no files and no filters: deleting its D1 row takes nothing else with it. */
const LONE_USER_ID = 9;

/** The failing checks and their failures (sorted: files are sampled in random order). */
const failing = (report: ValidationReport) => Object.fromEntries(report.checks.filter((c) => !c.ok).map((c) => [`${c.group}/${c.name}`, c.failures ? [...c.failures].sort() : c.detail]));

async function migrate(): Promise<void> {
  await uploadCorpusExports("main");
  const users = await (await fetch(`${originUrl}/__exports/users.csv`)).text();
  const hash = (await corpus()).users[0]!.passwordHash;
  const res = await putExport("main", "users", `${users}${LONE_USER_ID},${hash},,f,lone_user,Lone,User,lone@example.com,f,t,2023-01-02 03:04:05+00\n`);
  expect(res.status).toBe(201);
  expect((await waitForJob(await startJob({ kind: "full", exportSet: "main", settings: fastRetries }))).state).toBe("completed");
}

describe("the validation suite on a damaged migration", () => {
  it("reports each kind of damage in its own check, and only there", async () => {
    await migrate();
    const files = (await corpus()).files.filter((f) => !f.oversize);
    const lost = files[2]!;
    const altered = files[5]!;
    const lostKey = uploadKey(lost.userId, lost.fileId);
    const strayKey = `uploads/user-${lost.userId}/stray.csv`;

    await env.FILES.delete(lostKey);
    await env.DB.prepare(`UPDATE files SET checksum = ? WHERE id = ?`).bind("0".repeat(64), altered.fileId).run();
    await env.FILES.put(strayKey, "a,b\n1,2\n");
    expect((await env.DB.prepare(`DELETE FROM users WHERE legacy_id = ?`).bind(LONE_USER_ID).run()).meta.changes).toBe(1);

    // Every migrated file is sampled, so both damaged files are.
    const report = await runValidation(env, { sample: 100 });
    expect(report.ok).toBe(false);
    expect(failing(report)).toEqual({
      "files/app-download": [
        `file ${lost.fileId} (user ${lost.userId}): download/ answered HTTP 404 {"error":"File not found"}`,
        `file ${altered.fileId} (user ${altered.userId}): the app served ${altered.size} bytes with SHA-256 ${altered.sha256}; D1 says ${altered.size} bytes, ${"0".repeat(64)}`,
      ].sort(),
      "integrity/export-rows": [`users.csv line ${LONE_USER_ID + 1}: user ${LONE_USER_ID} is not in D1`],
      "integrity/r2-objects": [`${lostKey}: D1 file ${lost.fileId} has no R2 object`, `${strayKey}: R2 object without a files row`].sort(),
    });
    // The legacy origin agrees with the app on the altered file; the lost one was not served, so not compared.
    const legacy = report.checks.find((c) => c.name === "legacy-origin")!;
    expect(legacy.detail).toBe(`the legacy origin serves the bytes the app served for ${files.length - 1} of ${files.length - 1} files`);
  });

  it("fails a check that throws with the error's text, and runs the others", async () => {
    const broken = new Proxy(env.FILES, {
      get(target, property) {
        if (property === "list") return () => Promise.reject(new Error("R2 listing is down"));
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const report = await runValidation({ ...env, FILES: broken } as Env, { sample: 2 });
    const r2 = report.checks.find((c) => c.name === "r2-objects")!;
    expect(r2).toMatchObject({ ok: false, detail: "the check stopped with an error: R2 listing is down" });
    expect(r2.failures).toBeUndefined();
    // The checks before and after it ran as usual (the damage of the test above is still there).
    expect(report.checks.map((c) => [c.name, c.ok])).toEqual([
      ["canary-account", true],
      ["legacy-tokens", true],
      ["app-download", expect.any(Boolean)],
      ["legacy-origin", true],
      ["cut-and-export", true],
      ["export-rows", false],
      ["r2-objects", false],
    ]);
  });
});
