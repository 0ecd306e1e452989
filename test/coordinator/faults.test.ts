import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { coordinator } from "../../src/env";
import { COORDINATOR_MIGRATIONS } from "../../src/coordinator/schema";
import { afterEach, describe, expect, it } from "vitest";
import type { Failure } from "../../src/coordinator/model";
import { uploadKey } from "../../src/legacy/paths";
import { admin, adminJson, clearFaults, corpus, fastRetries, originStats, postJson, resetOriginStats, setFaults, sha256Hex, startJob, uploadCorpusExports, waitForJob } from "../helpers";

afterEach(clearFaults);

describe("a full job against a faulty legacy origin", () => {
  it("retries transient faults, lists permanent ones, and completes after retry-failed once the fault is cleared", async () => {
    const legacy = await corpus();
    const files = legacy.files.filter((f) => !f.oversize && f.size > 0);
    const [flaky500, missing, truncated, wrongLength, slow, down] = files;
    await uploadCorpusExports("faults");
    await resetOriginStats();
    await setFaults([
      { match: flaky500!.relativePath, kind: "status", status: 500, times: 2 },
      { match: missing!.relativePath, kind: "status", status: 404 },
      { match: truncated!.relativePath, kind: "truncate", times: 1 },
      { match: wrongLength!.relativePath, kind: "wrong-length", times: 1 },
      { match: slow!.relativePath, kind: "slow", delayMs: 2_000 },
      { match: down!.relativePath, kind: "status", status: 503 },
    ]);

    const id = await startJob({ kind: "full", exportSet: "faults", settings: { ...fastRetries, maxAttempts: 3, fetchTimeoutMs: 1_000 } });
    const job = await waitForJob(id);

    expect(job.state).toBe("completed_with_failures");
    const total = legacy.files.filter((f) => !f.oversize).length;
    expect(job.items).toMatchObject({ total, done: total - 3, failed: 3, pending: 0, leased: 0 });
    const stats = await originStats();
    expect(stats.byPath[flaky500!.relativePath]).toBe(3);
    expect(stats.byPath[truncated!.relativePath]).toBe(2);
    expect(stats.byPath[wrongLength!.relativePath]).toBe(2);
    expect(stats.byPath[missing!.relativePath]).toBe(1); // permanent: never retried
    expect(stats.byPath[down!.relativePath]).toBe(3); // transient, until maxAttempts

    const { body } = await adminJson<{ failures: Failure[] }>(`/admin/jobs/${id}/failures`);
    const reasons = Object.fromEntries(body.failures.map((f) => [f.fileId, f]));
    expect(reasons[missing!.fileId]).toMatchObject({ kind: "item", reason: "not_found", attempts: 1, source: missing!.filePath });
    expect(reasons[slow!.fileId]).toMatchObject({ reason: "timeout", attempts: 3 });
    expect(reasons[down!.fileId]).toMatchObject({ reason: "http_5xx", attempts: 3, detail: "HTTP 503" });
    for (const f of [flaky500!, truncated!, wrongLength!]) {
      const object = await env.FILES.get(uploadKey(f.userId, f.fileId));
      expect(await sha256Hex(object!.body), f.relativePath).toBe(f.sha256);
    }
    expect(await env.FILES.head(uploadKey(missing!.userId, missing!.fileId))).toBeNull();

    const csv = await admin(`/admin/jobs/${id}/failures`, { headers: { accept: "text/csv" } });
    expect(csv.headers.get("content-type")).toContain("text/csv");
    const lines = (await csv.text()).trim().split(/\r?\n/);
    expect(lines[0]).toBe("kind,fileId,table,line,source,reason,detail,attempts");
    expect(lines).toHaveLength(4);

    await clearFaults();
    const retry = await postJson(`/admin/jobs/${id}/retry-failed`, {});
    expect(retry.status).toBe(200);
    expect(retry.body).toMatchObject({ requeued: 3 });
    const retried = await waitForJob(id);
    expect(retried.state).toBe("completed");
    expect(retried.items).toMatchObject({ total, done: total, failed: 0 });
    for (const f of [missing!, slow!, down!]) {
      const object = await env.FILES.get(uploadKey(f.userId, f.fileId));
      expect(await sha256Hex(object!.body), f.relativePath).toBe(f.sha256);
    }

    // After leases, retries, failures and a requeue, the triggered totals still equal a scan of
    // the items; and a ledger that predates them (no totals) gets them from migration 2.
    await runInDurableObject(coordinator(env), (_instance, state) => {
      const sql = state.storage.sql;
      const scan = () =>
        sql.exec(`SELECT job_id, state, count(*) AS n, coalesce(sum(bytes), 0) AS bytes, coalesce(sum(coalesce(bytes, expected_size)), 0) AS known_bytes FROM items GROUP BY job_id, state ORDER BY job_id, state`).toArray();
      const totals = () => sql.exec(`SELECT job_id, state, n, bytes, known_bytes FROM item_totals WHERE n > 0 ORDER BY job_id, state`).toArray();
      expect(scan().length).toBeGreaterThan(0);
      expect(totals()).toEqual(scan());
      sql.exec(`DELETE FROM item_totals`);
      sql.exec(COORDINATOR_MIGRATIONS[1]!.sql);
      expect(totals()).toEqual(scan());
    });
  });

  it("refuses a file over MAX_FILE_SIZE without reading it, and copies one just under the limit", async () => {
    const legacy = await corpus();
    const oversize = legacy.files.find((f) => f.oversize)!;
    const nearLimit = legacy.files.filter((f) => !f.oversize).sort((a, b) => b.size - a.size)[0]!;
    await uploadCorpusExports("with-oversize", "all");

    const id = await startJob({ kind: "full", exportSet: "with-oversize", settings: fastRetries });
    const job = await waitForJob(id);

    expect(job.state).toBe("completed_with_failures");
    expect(job.items.failed).toBe(1);
    const { body } = await adminJson<{ failures: Failure[] }>(`/admin/jobs/${id}/failures`);
    expect(body.failures).toEqual([expect.objectContaining({ fileId: oversize.fileId, reason: "too_large", attempts: 1 })]);
    expect(await env.FILES.head(uploadKey(oversize.userId, oversize.fileId))).toBeNull();
    const near = await env.FILES.get(uploadKey(nearLimit.userId, nearLimit.fileId));
    expect(near!.size).toBe(nearLimit.size);
    expect(await sha256Hex(near!.body)).toBe(nearLimit.sha256);
  });
});
