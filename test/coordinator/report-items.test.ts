import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ItemReport } from "../../src/copy/messages";
import { Ledger } from "../../src/coordinator/ledger";
import { jobSettingsSchema } from "../../src/coordinator/model";
import type { ReportItem, ReportOutcome, ReportPage } from "../../src/coordinator/report";
import { ownCoordinator } from "../helpers";

const JOB = "job-1";
const settings = jobSettingsSchema.parse({});
const ids = Array.from({ length: 2_500 }, (_, i) => `f${String(i).padStart(5, "0")}`);

/** Item i: failed if i % 7 == 0; else done, found identical if i % 3 == 0, copied (a report without the flag, as before it existed, if i % 3 == 2); the last 40 never reported, the last 10 never leased. */
function reportFor(i: number): ItemReport | null {
  const base = { jobId: JOB, fileId: ids[i]!, attempt: 1 };
  if (i >= ids.length - 40) return null;
  if (i % 7 === 0) return { ...base, outcome: "failed", reason: "not_found", detail: "HTTP 404" };
  const done = { ...base, outcome: "done" as const, bytes: i, sha256: `sha-${i}` };
  return i % 3 === 0 ? { ...done, identical: true } : i % 3 === 1 ? { ...done, identical: false } : done;
}

function expectedOutcome(i: number, verifies: boolean): ReportOutcome {
  if (i >= ids.length - 10) return "pending";
  if (i >= ids.length - 40) return "leased";
  if (i % 7 === 0) return "failed";
  return verifies ? "verified" : i % 3 === 0 ? "skipped_identical" : "transferred";
}

function readAll(read: (after: string) => ReportPage<ReportItem, string>): { items: ReportItem[]; calls: number } {
  const items: ReportItem[] = [];
  let calls = 0;
  for (let after: string | null = ""; after !== null; calls++) {
    const page = read(after);
    items.push(...page.entries);
    after = page.next;
  }
  return { items, calls };
}

describe("the ledger's report of a job's items", () => {
  it("names each item's outcome (a report without `identical` counts as a copy), pages by file id without loss, and reads failures a window at a time", async () => {
    await runInDurableObject(ownCoordinator("report-items"), (_instance, state) => {
      const ledger = new Ledger(state.storage.sql);
      const now = Date.now();
      ledger.insert(JOB, ids.map((fileId) => ({ fileId, sourcePath: fileId, r2Key: `k/${fileId}`, expectedSize: null, payload: { legacyPath: `/app/media/${fileId}` } })));
      expect(ledger.lease(JOB, ids.length - 10, now, 60_000)).toHaveLength(ids.length - 10);
      ids.forEach((_, i) => {
        const report = reportFor(i);
        if (report) expect(ledger.apply(report, now, settings)).toBe(true);
      });

      for (const verifies of [false, true]) {
        const { items, calls } = readAll((after) => ledger.reportItems(JOB, verifies, after, 1_000, false));
        expect(calls).toBe(3);
        expect(items.map((i) => i.fileId)).toEqual(ids);
        expect(items.map((i) => i.outcome)).toEqual(ids.map((_, i) => expectedOutcome(i, verifies)));
        const counts = Object.fromEntries(["transferred", "skipped_identical", "verified", "failed", "pending", "leased"].map((o) => [o, items.filter((i) => i.outcome === o).length]));
        expect(ledger.reportSummary(JOB, verifies)).toEqual({
          transferred: counts.transferred,
          skippedIdentical: counts.skipped_identical,
          verified: counts.verified,
          failed: counts.failed,
          pending: 10,
          leased: 30,
          rowErrors: 0,
        });
      }
      const { items } = readAll((after) => ledger.reportItems(JOB, false, after, 1_000, false));
      expect(items[1]).toEqual({ fileId: ids[1], outcome: "transferred", sourcePath: `/app/media/${ids[1]}`, r2Key: `k/${ids[1]}`, bytes: 1, sha256: "sha-1", attempts: 1, reason: null, detail: null });
      expect(items[7]).toMatchObject({ outcome: "failed", bytes: null, reason: "not_found", detail: "HTTP 404" });

      // Failures only: each call examines the next `limit` items, so some pages are short or empty.
      for (const limit of [1, 6, 1_000]) {
        const failures = readAll((after) => ledger.reportItems(JOB, false, after, limit, true));
        expect(failures.items.map((i) => i.fileId)).toEqual(ids.filter((_, i) => expectedOutcome(i, false) === "failed"));
        expect(failures.calls).toBe(Math.ceil(ids.length / limit) + (ids.length % limit === 0 ? 1 : 0));
      }
    });
  });
});
