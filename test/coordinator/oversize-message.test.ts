import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { Failure } from "../../src/coordinator/model";
import { uploadKey } from "../../src/legacy/paths";
import { exportCsv, toCsv } from "../legacy-origin/corpus";
import { adminJson, corpus, fastRetries, postJson, putExport, startJob, waitForJob } from "../helpers";

const FILE_COLUMNS = ["id", "user_id", "file_id", "file_name", "file_path", "uploaded_at", "system_tags", "user_tags", "metadata"];
const BIG_FILE_ID = "00000000-0000-4000-8000-00000000bea7";
/** 60,000 UTF-16 units (well under a 100,000-character budget) but 180,000 bytes of UTF-8. */
const BIG_NOTE = "€".repeat(60_000);

const withoutHeader = (csv: string) => csv.slice(csv.indexOf("\n") + 1);

let running: string | null = null;

// A job that never ends would hold the coordinator's single active slot for the next test file.
afterEach(async () => {
  if (running) await postJson(`/admin/jobs/${running}/cancel`, {});
  running = null;
});

describe("an item whose queue message is too large in UTF-8", () => {
  it("fails permanently as message_too_large, the other items are copied, and the job ends", async () => {
    const legacy = await corpus();
    const files = legacy.files.filter((f) => !f.oversize).slice(0, 6);
    const host = files[0]!;
    // The export contract sets no bound on metadata: the row is accepted at planning.
    const bigRow = [9_999, host.userId, BIG_FILE_ID, "big.csv", host.filePath, "2024-02-03 04:05:06+00", "{}", "{}", JSON.stringify({ note: BIG_NOTE })];
    await putExport("oversize", "users", exportCsv(legacy, "users"));
    await putExport("oversize", "files", exportCsv(legacy, "files", files) + withoutHeader(toCsv(FILE_COLUMNS, [bigRow])));

    running = await startJob({ kind: "full", exportSet: "oversize", settings: { ...fastRetries, batchSize: 4 } });
    const job = await waitForJob(running, undefined, 20_000);

    expect(job.state).toBe("completed_with_failures");
    expect(job.items).toEqual({ total: files.length + 1, pending: 0, leased: 0, done: files.length, failed: 1 });
    const { body } = await adminJson<{ failures: Failure[] }>(`/admin/jobs/${running}/failures`);
    expect(body.failures).toHaveLength(1);
    expect(body.failures[0]).toMatchObject({ kind: "item", fileId: BIG_FILE_ID, reason: "message_too_large", source: host.filePath });
    expect(body.failures[0]!.detail).toMatch(/\b18\d{4} bytes\b/);
    expect(await env.FILES.head(uploadKey(host.userId, BIG_FILE_ID))).toBeNull();

    // Only a corrected export fixes it: retry-failed requeues nothing and the job ends again.
    const retry = await postJson(`/admin/jobs/${running}/retry-failed`, {});
    expect(retry).toMatchObject({ status: 200, body: { requeued: 0 } });
    const again = await waitForJob(running, undefined, 20_000);
    expect(again).toMatchObject({ state: "completed_with_failures", items: { done: files.length, failed: 1 } });
    running = null;
  });
});
