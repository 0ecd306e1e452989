import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { exportObjectKey } from "../../src/legacy/export-contract";
import { runPreflight } from "../../src/preflight/run";
import { admin, adminJson, clearFaults, corpus, fastRetries, putExport, resetPrimaryCoordinator, setFaults, startJob, uploadCorpusExports, waitForJob, worker } from "../helpers";
import { preflight, storedState } from "./preflight-helpers";

beforeEach(async () => {
  await resetPrimaryCoordinator();
  await clearFaults();
});

describe("POST /admin/cutover/preflight: input", () => {
  it.each([
    [{}, "exportSet"],
    [{ exportSet: "../up" }, "exportSet"],
    [{ exportSet: "x", sample: 201 }, "sample"],
    [{ exportSet: "x", sample: -1 }, "sample"],
    [{ exportSet: "x", sample: 1.5 }, "sample"],
    [{ exportSet: "x", sample: "5" }, "sample"],
    [{ exportSet: "x", dryRun: true }, "dryRun"],
    [[], "body"],
  ])("%j → 400 naming %s", async (body, field) => {
    const res = await preflight(body);
    expect(res.status).toBe(400);
    expect(res.body.field).toBe(field);
  });

  it("answers 400 for malformed JSON, 401 without the token, 404 for a set without users.csv or files.csv", async () => {
    const bad = await admin("/admin/cutover/preflight", { method: "POST", body: "{exportSet", headers: { "content-type": "application/json" } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: "body is not valid JSON", field: "body" });
    expect((await worker("/admin/cutover/preflight", { method: "POST", body: JSON.stringify({ exportSet: "x" }) })).status).toBe(401);
    expect(await preflight({ exportSet: "never-uploaded" })).toEqual({ status: 404, body: { error: "export set 'never-uploaded' has no users.csv", field: "exportSet" } });
    expect((await putExport("half", "users", "id,username,email,password,first_name,last_name,date_joined,last_login,is_active,is_staff,is_superuser\n")).status).toBe(201);
    expect(await preflight({ exportSet: "half" })).toEqual({ status: 404, body: { error: "export set 'half' has no files.csv", field: "exportSet" } });
  });
});

describe("preflight: sample, estimate, limits", () => {
  it("samples at most `sample` files, spread over the export and the same each time; 0 asks the origin nothing", async () => {
    await uploadCorpusExports("spread");
    const first = await preflight({ exportSet: "spread", sample: 5 });
    const again = await preflight({ exportSet: "spread", sample: 5 });
    expect(first.status).toBe(200);
    const lines = first.body.sample.items.map((i: { line: number }) => i.line);
    expect(lines).toHaveLength(5);
    expect(lines).toEqual([...lines].sort((a, b) => a - b));
    expect(lines).not.toEqual([2, 3, 4, 5, 6]);
    expect(again.body.sample.items).toEqual(first.body.sample.items);
    expect((await preflight({ exportSet: "spread", sample: 0 })).body.sample).toEqual({ checked: 0, ok: 0, missing: 0, sizeMismatch: 0, tooLarge: 0, errors: 0, items: [] });
  });

  it("counts the origin's errors (a 503, a reset connection) in the sample, and goes on", async () => {
    const files = (await corpus()).files.filter((f) => !f.oversize);
    await uploadCorpusExports("faulty");
    await setFaults([
      { match: files[0]!.relativePath, kind: "status", status: 503 },
      { match: files[1]!.relativePath, kind: "reset" },
    ]);
    const { body } = await preflight({ exportSet: "faulty", sample: 200 });
    expect(body.sample).toMatchObject({ checked: files.length, ok: files.length - 2, errors: 2 });
    const byId = Object.fromEntries(body.sample.items.map((i: { fileId: string }) => [i.fileId, i]));
    expect(byId[files[0]!.fileId]).toMatchObject({ outcome: "error", status: 503, error: "HTTP 503" });
    expect(byId[files[1]!.fileId]).toMatchObject({ outcome: "error", status: null });
  });

  it("estimates from the default until a full job has finished, then from that job's throughput", async () => {
    await uploadCorpusExports("estimate");
    const before = (await preflight({ exportSet: "estimate", sample: 0 })).body;
    expect(before.estimate.basis).toBe("default: 20 files/s, 5 MiB/s (no finished full or delta job yet)");

    const id = await startJob({ kind: "full", exportSet: "estimate", settings: fastRetries });
    const job = await waitForJob(id);
    expect(job.state).toBe("completed");
    const after = (await preflight({ exportSet: "estimate", sample: 0 })).body;
    const { filesPerSecond, bytesPerSecond } = job.throughput;
    expect(after.estimate).toEqual({
      seconds: Math.ceil(Math.max(after.files.wouldCopy / filesPerSecond, after.estimate.bytes / bytesPerSecond)),
      bytes: after.files.bytesDeclared,
      filesPerSecond,
      bytesPerSecond,
      basis: `job ${id} (full, finished ${job.finishedAt})`,
    });
    // The same export again: every user and file is in D1 now (a delta would copy none), and nothing clashes.
    expect(after).toMatchObject({
      users: { wouldImport: before.users.rows },
      files: { wouldCopy: before.files.wouldCopy, alreadyInD1: before.files.wouldCopy },
      conflicts: { username: 0, email: 0, fileIdHeld: 0, changedOnBothSides: { users: 0, filters: 0, files: 0 } },
      problems: [],
    });
    expect((await adminJson("/admin/jobs")).body.jobs).toHaveLength(1);
  });

  it("stops at its id cap and says so instead of under-counting", async () => {
    await uploadCorpusExports("capped");
    const state = await storedState();
    const report = await runPreflight(env, { exportSet: "capped", sample: 0 }, { maxRememberedIds: 10 });
    expect(report.users.rows).toBe(8);
    expect(report.files.rows).toBe(0);
    expect(report.truncated).toEqual({
      reason: "the preflight remembers at most 10 ids (users and file_ids); it stopped before files.csv line 2, and its counts cover the rows before that line",
    });
    expect(await storedState()).toEqual(state);
  });

  it("reports where a job on the export would fail (a table that is not UTF-8)", async () => {
    await uploadCorpusExports("broken");
    await env.FILES.put(exportObjectKey("broken", "files"), new Uint8Array([...new TextEncoder().encode("id,user_id,file_id,file_name,file_path,uploaded_at,system_tags,user_tags,metadata\n1,1,"), 0xff, 0x0a]));
    const { status, body } = await preflight({ exportSet: "broken" });
    expect(status).toBe(200);
    expect(body.jobWouldFail).toEqual({ table: "files", error: "files.csv is not valid UTF-8 (after line 1)" });
    expect(body.users.wouldImport).toBe(8);
  });
});
