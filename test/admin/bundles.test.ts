import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Failure } from "../../src/coordinator/model";
import { admin, adminJson, api, csvForm, newUser, postJson, startJob, waitForJob, worker } from "../helpers";
import { applied, fetchBundle, lastSeq, runReverse } from "../sync/reverse";

const CSV = "id,name\n1,Ann\n";
const UNKNOWN = "00000000-0000-4000-8000-000000000000";

async function uploadAs(token: string, name: string): Promise<string> {
  const res = await api("/api/list_cutter/upload/", { method: "POST", body: csvForm(name, CSV), token });
  return (await res.json<{ file_id: string }>()).file_id;
}

describe("reverse jobs through the operator API", () => {
  it("refuses bad input with a 4xx naming the field", async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ kind: "reverse", exportSet: "x" }, "exportSet"],
      [{ kind: "reverse", since: -1 }, "since"],
      [{ kind: "reverse", since: 1.5 }, "since"],
      [{ kind: "reverse", since: "3" }, "since"],
      [{ kind: "full", exportSet: "x", since: 0 }, "since"],
      [{ kind: "verify", since: 0 }, "since"],
    ];
    for (const [body, field] of cases) {
      const res = await postJson("/admin/jobs", body);
      expect(res, JSON.stringify(body)).toMatchObject({ status: 400, body: { field } });
    }
    const beyond = await postJson("/admin/jobs", { kind: "reverse", since: (await lastSeq()) + 1 });
    expect(beyond).toMatchObject({ status: 400, body: { field: "since" } });
  });

  it("serves a completed bundle's manifest, parts and files, streamed, to the operator only, and nothing else", async () => {
    const user = await newUser("bundle-api");
    const inBundle = await uploadAs(user.access, "in.csv");
    const job = await runReverse();
    expect(job).toMatchObject({ state: "completed", counts: { users: 1, files: 1 } });
    const notInBundle = await uploadAs(user.access, "later.csv");
    const { raw } = await fetchBundle(job.id);
    expect(Object.keys(raw).sort()).toEqual(["files-0001.csv", "users-0001.csv"]);

    const part = await admin(`/admin/jobs/${job.id}/bundle/files-0001.csv`);
    expect(part.headers.get("content-length")).toBe(String(new TextEncoder().encode(raw["files-0001.csv"]!).length));
    expect(part.body).toBeInstanceOf(ReadableStream);
    expect(await part.text()).toBe(raw["files-0001.csv"]);
    const file = await admin(`/admin/jobs/${job.id}/files/${inBundle.toUpperCase()}`);
    expect(file.status).toBe(200);
    expect(file.headers.get("content-length")).toBe(String(CSV.length));
    expect(await file.text()).toBe(CSV);

    // Without the bearer token: 401 for each.
    for (const path of [`/admin/jobs/${job.id}/bundle`, `/admin/jobs/${job.id}/bundle/files-0001.csv`, `/admin/jobs/${job.id}/files/${inBundle}`]) {
      expect((await worker(path)).status, path).toBe(401);
    }
    expect((await worker(`/admin/jobs/${job.id}/applied`, { method: "POST", body: JSON.stringify({ toSeq: job.toSeq }) })).status).toBe(401);

    // Parts the bundle does not have, and path tricks: 404, never another object.
    const parts = [
      "files-0002.csv",
      "filters-0001.csv",
      "deletions-0001.csv",
      "files-0000.csv",
      "manifest.json",
      "FILES-0001.csv",
      "files-001.csv",
      "files-00001.csv",
      "files-0001.csv%00",
      "files-0001.csv%2F..%2F..%2Fmanifest.json",
      "..%2Fmanifest.json",
      "%2e%2e%2f%2e%2e%2fexports%2Fx%2Fusers.csv",
      "files-0001.csv;x",
      "files-0001.csvx",
    ];
    for (const name of parts) {
      const res = await admin(`/admin/jobs/${job.id}/bundle/${name}`);
      expect(res.status, name).toBe(404);
      expect(res.headers.get("content-type"), name).toMatch(/^application\/json/);
    }
    for (const path of [`/admin/jobs/${job.id}/bundle/../../exports/x/users.csv`, `/admin/jobs/${job.id}/bundle//files-0001.csv`, `/admin/jobs/${job.id}/bundle/files-0001.csv/x`]) {
      expect((await admin(path)).status, path).toBe(404);
    }
    const user2 = (await env.DB.prepare(`SELECT r2_key FROM files WHERE id = ?`).bind(notInBundle).first<{ r2_key: string }>())!;
    const fileIds = [notInBundle, UNKNOWN, "not-a-uuid", encodeURIComponent(user2.r2_key), `${inBundle}%00`, `..%2F${inBundle}`, `${inBundle}.csv`];
    for (const id of fileIds) {
      const res = await admin(`/admin/jobs/${job.id}/files/${id}`);
      expect(res.status, id).toBe(404);
      expect(res.headers.get("content-type"), id).toMatch(/^application\/json/);
    }

    // Jobs that are not completed reverse jobs have no bundle.
    const verify = await waitForJob(await startJob({ kind: "verify" }));
    for (const id of [verify.id, UNKNOWN]) {
      expect((await admin(`/admin/jobs/${id}/bundle`)).status, id).toBe(404);
      expect((await admin(`/admin/jobs/${id}/bundle/files-0001.csv`)).status, id).toBe(404);
      expect((await admin(`/admin/jobs/${id}/files/${inBundle}`)).status, id).toBe(404);
    }
    // A file of another reverse job's bundle is not this job's.
    const other = await runReverse({ since: job.toSeq });
    expect(other.counts).toMatchObject({ files: 1 });
    expect((await admin(`/admin/jobs/${other.id}/files/${notInBundle}`)).status).toBe(200);
    expect((await admin(`/admin/jobs/${other.id}/files/${inBundle}`)).status).toBe(404);
    expect((await admin(`/admin/jobs/${job.id}/files/${notInBundle}`)).status).toBe(404);
    // A file deleted since the bundle was made: 410 (the applier skips it); one never listed stays a 404.
    const num = (await env.DB.prepare(`SELECT num FROM files WHERE id = ?`).bind(inBundle).first<{ num: number }>())!.num;
    expect((await api(`/api/list_cutter/delete/${num}/`, { method: "DELETE", token: user.access })).status).toBe(204);
    const gone = await admin(`/admin/jobs/${job.id}/files/${inBundle}`);
    expect(gone.status).toBe(410);
    expect(await gone.json()).toMatchObject({ field: "fileId", error: expect.stringMatching(/deleted on the new app/) });
    expect((await admin(`/admin/jobs/${job.id}/files/${UNKNOWN}`)).status).toBe(404);
    expect((await admin(`/admin/jobs/${other.id}/files/${inBundle}`)).status).toBe(404);
  });

  it("applied: only a completed reverse job with its own toSeq; idempotent; audited once", async () => {
    const user = await newUser("bundle-applied");
    await uploadAs(user.access, "a.csv");
    const job = await runReverse({ since: 0 });
    const verify = await waitForJob(await startJob({ kind: "verify" }));
    expect(await applied(UNKNOWN, 1)).toMatchObject({ status: 404 });
    expect(await applied(verify.id, 1)).toMatchObject({ status: 409 });
    expect(await applied(job.id, job.toSeq! - 1)).toMatchObject({ status: 409, body: { field: "toSeq" } });
    expect(await applied(job.id, "7")).toMatchObject({ status: 400, body: { field: "toSeq" } });
    expect(await postJson(`/admin/jobs/${job.id}/applied`, {})).toMatchObject({ status: 400, body: { field: "toSeq" } });
    expect(await postJson(`/admin/jobs/${job.id}/applied`, { toSeq: job.toSeq, extra: 1 })).toMatchObject({ status: 400, body: { field: "extra" } });

    const first = await applied(job.id, job.toSeq);
    expect(first).toMatchObject({ status: 200, body: { jobId: job.id, toSeq: job.toSeq, appliedBy: expect.stringMatching(/^admin@/) } });
    expect(await applied(job.id, job.toSeq)).toEqual(first);
    const audit = await env.DB.prepare(`SELECT action, target, details FROM audit_logs WHERE action = 'job.applied' AND target = ?`).bind(job.id).all<{ details: string }>();
    expect(audit.results).toHaveLength(1);
    expect(JSON.parse(audit.results[0]!.details)).toMatchObject({ toSeq: job.toSeq, fromSeq: 0 });
    // The next reverse job starts where the applied one ended.
    expect(await runReverse()).toMatchObject({ fromSeq: job.toSeq, toSeq: job.toSeq, counts: { users: 0, files: 0, filters: 0, deletions: 0 } });
  });

  it("a bundled file missing from R2 is an item failure: the job completes with failures and serves no bundle", async () => {
    const user = await newUser("bundle-missing");
    const gone = await uploadAs(user.access, "gone.csv");
    const key = (await env.DB.prepare(`SELECT r2_key FROM files WHERE id = ?`).bind(gone).first<{ r2_key: string }>())!.r2_key;
    await env.FILES.delete(key);
    const since = (await lastSeq()) - 1;
    const job = await runReverse({ since });
    expect(job).toMatchObject({ state: "completed_with_failures", items: { total: 1, failed: 1 }, counts: { files: 1 } });
    const { body } = await adminJson<{ failures: Failure[] }>(`/admin/jobs/${job.id}/failures`);
    expect(body.failures).toMatchObject([{ kind: "item", fileId: gone, reason: "missing_object" }]);
    expect((await admin(`/admin/jobs/${job.id}/bundle`)).status).toBe(404);
    expect((await admin(`/admin/jobs/${job.id}/bundle/files-0001.csv`)).status).toBe(404);
    expect(await applied(job.id, job.toSeq)).toMatchObject({ status: 409 });
  });
});
