import { createExecutionContext, createMessageBatch, evictDurableObject, getQueueResult, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { MigrationCoordinator } from "../../src/coordinator/coordinator";
import type { CopyMessage } from "../../src/copy/messages";
import { coordinator } from "../../src/env";
import worker from "../../src/index";
import { uploadKey } from "../../src/legacy/paths";
import { exportCsv, toCsv, type Corpus } from "../legacy-origin/corpus";
import { adminJson, changeByHand, clearFaults, corpus, fastRetries, jobOf, originStats, ownCoordinator, putExport, resetOriginStats, setFaults, sha256Hex, startJob, uploadCorpusExports, waitForJob, wakeByHand } from "../helpers";

afterEach(clearFaults);

async function d1Count(table: string): Promise<number> {
  return (await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())!.n;
}

async function expectAllCopied(files: Corpus["files"]): Promise<void> {
  for (const f of files) {
    const object = await env.FILES.get(uploadKey(f.userId, f.fileId));
    expect(object, f.relativePath).not.toBeNull();
    expect(await sha256Hex(object!.body), f.relativePath).toBe(f.sha256);
  }
}

function ledgerRow(fileId: string, jobId: string) {
  return runInDurableObject(coordinator(env), (_instance: MigrationCoordinator, state) =>
    state.storage.sql.exec<{ state: string; attempts: number }>(`SELECT state, attempts FROM items WHERE job_id = ? AND file_id = ?`, jobId, fileId).one(),
  );
}

describe("the coordinator survives eviction, lost consumers and duplicates", () => {
  it("resumes planning after eviction between steps, with exact counts", async () => {
    const legacy = await corpus();
    const users = Array.from({ length: 12_000 }, (_, i) => [i + 1, `bulk${i + 1}`, `bulk${i + 1}@example.com`, "pbkdf2_sha256$1000$salt$aGFzaA==", "", "", "2023-01-01 00:00:00+00", "", "t", "f", "f"]);
    await putExport("bulk", "users", toCsv(["id", "username", "email", "password", "first_name", "last_name", "date_joined", "last_login", "is_active", "is_staff", "is_superuser"], users));
    await putExport("bulk", "files", toCsv(["id", "user_id", "file_id", "file_name", "file_path", "uploaded_at", "system_tags", "user_tags", "metadata"], []));

    const id = await startJob({ kind: "full", exportSet: "bulk", settings: fastRetries });
    await waitForJob(id, (j) => j.users.migrated > 0);
    await evictDurableObject(coordinator(env));
    const job = await waitForJob(id);

    expect(job.state).toBe("completed");
    expect(job.users.migrated).toBe(12_000);
    expect(job.rowErrors).toBe(0);
    expect(await d1Count("users")).toBe(12_000);
    expect(legacy.users.length).toBeGreaterThan(0);
  });

  it("finishes a copy evicted mid-job with exact counts", async () => {
    const legacy = await corpus();
    const files = legacy.files.filter((f) => !f.oversize);
    await uploadCorpusExports("evict");
    const id = await startJob({ kind: "full", exportSet: "evict", settings: { ...fastRetries, maxInFlight: 4, batchSize: 2, ratePerSecond: 10 } });

    const midway = await waitForJob(id, (j) => j.state === "copying" && j.items.done >= 4);
    expect(midway.items.done).toBeLessThan(files.length);
    await evictDurableObject(coordinator(env));
    const job = await waitForJob(id);

    expect(job.state).toBe("completed");
    expect(job.items).toEqual({ total: files.length, pending: 0, leased: 0, done: files.length, failed: 0 });
    expect(await d1Count("files")).toBe(files.length);
    await expectAllCopied(files);
  });

  it("re-dispatches an item whose lease expired before its consumer reported", async () => {
    const legacy = await corpus();
    const stuck = legacy.files.find((f) => !f.oversize && f.size > 32 * 1024 && f.size <= 160 * 1024)!;
    // The body is complete once its last 16 KiB chunk is out: (chunks - 1) pauses.
    const pauses = Math.ceil(stuck.size / (16 * 1024)) - 1;
    await putExport("lease", "users", exportCsv(legacy, "users"));
    await putExport("lease", "files", exportCsv(legacy, "files", [stuck]));
    await resetOriginStats();
    // The first download takes ~7 s, past the 5 s lease: the item is handed out again while the
    // first consumer is still busy. That late consumer's success is accepted; nothing is lost.
    await setFaults([{ match: stuck.relativePath, kind: "slow", delayMs: Math.ceil(7_000 / pauses), times: 1 }]);

    const id = await startJob({ kind: "full", exportSet: "lease", settings: { ...fastRetries, leaseSeconds: 5, fetchTimeoutMs: 60_000 } });
    const job = await waitForJob(id);

    expect(job.state).toBe("completed");
    expect(job.items).toMatchObject({ total: 1, done: 1 });
    expect(await ledgerRow(stuck.fileId, id)).toEqual({ state: "done", attempts: 2 });
    // The re-dispatched message is still delivered after the job finished; it must change nothing.
    const deadline = Date.now() + 15_000;
    while ((await originStats()).byPath[stuck.relativePath] !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect((await originStats()).byPath[stuck.relativePath]).toBe(2);
    await new Promise((r) => setTimeout(r, 300));
    expect(await ledgerRow(stuck.fileId, id)).toEqual({ state: "done", attempts: 2 });
    expect((await adminJson(`/admin/jobs/${id}`)).body).toMatchObject({ state: "completed", items: { done: 1, failed: 0 } });
    await expectAllCopied([stuck]);
  });

  it("ignores duplicate deliveries, duplicate reports and repeated alarms", async () => {
    const legacy = await corpus();
    const file = legacy.files.find((f) => !f.oversize && f.size > 1000)!;
    await uploadCorpusExports("duplicates");
    const jobId = await startJob({ kind: "full", exportSet: "duplicates", settings: fastRetries });
    expect((await waitForJob(jobId)).state).toBe("completed");
    const before = (await adminJson(`/admin/jobs/${jobId}`)).body;
    const uploaded = (await env.FILES.head(uploadKey(file.userId, file.fileId)))!.uploaded.getTime();
    const filesBefore = await d1Count("files");

    const message: CopyMessage = {
      kind: "copy",
      jobId,
      fetchTimeoutMs: 5_000,
      concurrency: 2,
      items: [
        {
          fileId: file.fileId,
          attempt: 1,
          sourcePath: file.relativePath,
          r2Key: uploadKey(file.userId, file.fileId),
          expectedSize: file.size,
          record: { legacyId: file.id, userId: file.userId, fileName: file.fileName, uploadedAt: "2024-02-03T04:05:06.789Z", systemTags: [], userTags: [], metadata: {}, legacyPath: file.filePath },
        },
      ],
    };
    for (let delivery = 0; delivery < 2; delivery++) {
      const batch = createMessageBatch("file-copy", [
        { id: `dup-${delivery}-a`, timestamp: Date.now(), attempts: delivery + 1, body: message },
        { id: `dup-${delivery}-b`, timestamp: Date.now(), attempts: delivery + 1, body: message },
      ]);
      const ctx = createExecutionContext();
      await worker.queue(batch as MessageBatch<unknown>, env);
      const result = await getQueueResult(batch, ctx);
      expect(result.explicitAcks.sort()).toEqual([`dup-${delivery}-a`, `dup-${delivery}-b`]);
      expect(result.retryMessages).toEqual([]);
    }

    const stub = coordinator(env);
    const report = { jobId, fileId: file.fileId, attempt: 1, outcome: "done" as const, bytes: file.size, sha256: file.sha256 };
    expect(await stub.receiveReports([report, report])).toEqual({ applied: 0 });
    const failed = { jobId, fileId: file.fileId, attempt: 1, outcome: "failed" as const, reason: "http_5xx" as const, detail: "late" };
    expect(await stub.receiveReports([failed])).toEqual({ applied: 0 });
    await runInDurableObject(stub, async (instance: MigrationCoordinator) => {
      for (let i = 0; i < 3; i++) await instance.alarm();
    });

    const after = (await adminJson(`/admin/jobs/${jobId}`)).body;
    expect({ ...after, throughput: null, eta: null }).toEqual({ ...before, throughput: null, eta: null });
    expect(await d1Count("files")).toBe(filesBefore);
    expect((await env.FILES.head(uploadKey(file.userId, file.fileId)))!.uploaded.getTime()).toBe(uploaded);
  });
});

const DOOMED_FILES = "id,user_id,file_id,file_name,file_path,uploaded_at,system_tags,user_tags,metadata\n1,1,00000000-0000-4000-8000-000000000001,a.csv,/app/media/a.csv,2024-01-01 00:00:00+00,{},{},{}\n";

/** A full job in `stub` whose planning throws from its files table on (D1 has no users table), driven by hand. */
async function withDoomedJob(stub: DurableObjectStub<MigrationCoordinator>, body: (id: string) => Promise<void>): Promise<void> {
  await putExport("doomed", "users", "id,username,email,password,first_name,last_name,date_joined,last_login,is_active,is_staff,is_superuser\n");
  await putExport("doomed", "files", DOOMED_FILES);
  // Make every planning step throw: the users table disappears from D1.
  await env.DB.exec("ALTER TABLE users RENAME TO users_gone");
  try {
    const id = await changeByHand(stub, async (instance) => {
      const created = await instance.createJob({ kind: "full", exportSet: "doomed" }, "test");
      if (!created.ok) throw new Error(created.error);
      return created.value.id;
    });
    await body(id);
  } finally {
    await env.DB.exec("ALTER TABLE users_gone RENAME TO users");
  }
}

function storedStepFailures(stub: DurableObjectStub<MigrationCoordinator>): Promise<number> {
  return runInDurableObject(stub, (_instance: MigrationCoordinator, state) => state.storage.sql.exec<{ failures: number }>(`SELECT failures FROM wakeups WHERE reason = 'job'`).one().failures);
}

describe("a step that keeps throwing", () => {
  it("is retried by the coordinator's own heartbeat, then fails the job with the error", async () => {
    const stub = ownCoordinator("doomed");
    await withDoomedJob(stub, async (id) => {
      let retriesArmed = 0;
      for (let step = 0; step < 20; step++) {
        const alarm = await wakeByHand(stub);
        if (alarm !== null && alarm > Date.now() + 4_000) retriesArmed++;
        if ((await jobOf(stub, id)).state === "failed") break;
      }
      // Planning users (empty) and filters (absent) succeed; planning files then fails ten times.
      expect(retriesArmed).toBe(9);
      const job = await jobOf(stub, id);
      expect(job.state).toBe("failed");
      expect(job.error).toMatch(/^step failed 10 times in a row: .*users/);
    });
  });

  it("counts its failures in storage: an eviction midway does not start the count again", async () => {
    const stub = ownCoordinator("doomed-evicted");
    await withDoomedJob(stub, async (id) => {
      let retriesArmed = 0;
      let evicted = false;
      for (let step = 0; step < 30; step++) {
        const alarm = await wakeByHand(stub);
        if (alarm !== null && alarm > Date.now() + 4_000) retriesArmed++;
        if (retriesArmed === 5 && !evicted) {
          expect(await storedStepFailures(stub)).toBe(5);
          await evictDurableObject(stub);
          evicted = true;
          expect(await storedStepFailures(stub)).toBe(5);
        }
        if ((await jobOf(stub, id)).state === "failed") break;
      }
      expect(evicted).toBe(true);
      expect(retriesArmed).toBe(9);
      const job = await jobOf(stub, id);
      expect(job.state).toBe("failed");
      expect(job.error).toMatch(/^step failed 10 times in a row: .*users/);
      expect(await storedStepFailures(stub)).toBe(0);
    });
  });
});
