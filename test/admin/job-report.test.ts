import Papa from "papaparse";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { REPORT_COLUMNS, reportResponse, type ReportVariant } from "../../src/admin/report-stream";
import { neutraliseFormula } from "../../src/app/csv-output";
import type { ReportConflict, ReportItem, ReportRowError, ReportSummary } from "../../src/coordinator/report";
import { coordinator } from "../../src/env";
import { uploadKey } from "../../src/legacy/paths";
import type { CorpusFile } from "../legacy-origin/corpus";
import { exportCsv } from "../legacy-origin/corpus";
import { admin, adminJson, clearFaults, corpus, fastRetries, newUser, putExport, setFaults, startJob, waitForJob } from "../helpers";

interface JsonReport {
  job: { id: string; kind: string; state: string };
  variant: ReportVariant;
  summary: ReportSummary;
  items: ReportItem[];
  rowErrors: ReportRowError[];
  conflicts: ReportConflict[];
}

const BAD_ROWS = 3;
const NO_ITEMS = { transferred: 0, skippedIdentical: 0, verified: 0, failed: 0, pending: 0, leased: 0 };

let files: CorpusFile[];
let missing: CorpusFile;
/** A full job with one file missing on the origin, the same job again, and a verify job. */
let first: string, second: string, verify: string;

beforeAll(async () => {
  const legacy = await corpus();
  files = legacy.files.filter((f) => !f.oversize);
  missing = files[2]!;
  // A legacy user whose username a new-app user holds (a conflict), and file rows without a valid file_id.
  await newUser("report_clash");
  const clash = `9,${legacy.users[0]!.passwordHash},,f,report_clash,Clash,Legacy,clash.legacy@example.com,f,t,2023-01-02 03:04:05+00\n`;
  const badRows = Array.from({ length: BAD_ROWS }, (_, i) => `${900 + i},1,not-a-uuid-${i},bad${i}.csv,/app/media/uploads/bad${i}.csv,2024-01-01 00:00:00+00,{},{},{}\n`).join("");
  for (const [table, csv] of [["users", exportCsv(legacy, "users") + clash], ["files", exportCsv(legacy, "files", files) + badRows], ["filters", exportCsv(legacy, "filters")]] as const) {
    expect((await putExport("report", table, csv)).status).toBe(201);
  }
  await setFaults([{ match: missing.relativePath, kind: "status", status: 404 }]);
  first = await startJob({ kind: "full", exportSet: "report", settings: fastRetries });
  expect((await waitForJob(first)).state).toBe("completed_with_failures");
  await clearFaults();
  second = await startJob({ kind: "full", exportSet: "report", settings: fastRetries });
  expect((await waitForJob(second)).state).toBe("completed_with_failures"); // the bad rows and the conflict remain
  verify = await startJob({ kind: "verify", settings: fastRetries });
  expect((await waitForJob(verify)).state).toBe("completed");
});

async function jsonReport(id: string, query = ""): Promise<JsonReport> {
  const res = await admin(`/admin/jobs/${id}/report${query}`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
  return res.json();
}

/** The rows the CSV variant must hold for a JSON report: one per entry, `kind` first. */
function expectedCsvRows(report: JsonReport): string[][] {
  const sections = [
    ["item", report.items],
    ["row", report.rowErrors],
    ["conflict", report.conflicts],
  ] as const;
  return sections.flatMap(([kind, entries]) =>
    entries.map((entry: object) => REPORT_COLUMNS.map((c) => (c === "kind" ? kind : neutraliseFormula(String((entry as Record<string, unknown>)[c] ?? ""))))),
  );
}

function parseCsv(text: string): string[][] {
  const parsed = Papa.parse<string[]>(text, { skipEmptyLines: true });
  expect(parsed.errors).toEqual([]);
  return parsed.data;
}

describe("GET /admin/jobs/:id/report", () => {
  it("counts every outcome exactly: a first full job transfers, a second skips what R2 already holds, a verify job verifies", async () => {
    const n = files.length;
    const byId = new Map(files.map((f) => [f.fileId, f]));

    const one = await jsonReport(first);
    expect(one.job).toEqual({ id: first, kind: "full", state: "completed_with_failures" });
    expect(one.variant).toBe("full");
    expect(one.summary).toEqual({ ...NO_ITEMS, transferred: n - 1, failed: 1, rowErrors: BAD_ROWS, conflicts: 1 });
    expect(one.items.map((i) => i.fileId)).toEqual(files.map((f) => f.fileId).sort());
    for (const item of one.items) {
      const file = byId.get(item.fileId)!;
      if (file === missing) expect(item).toMatchObject({ outcome: "failed", reason: "not_found", attempts: 1, bytes: null, sha256: null });
      else expect(item).toEqual({ fileId: file.fileId, outcome: "transferred", sourcePath: file.filePath, r2Key: uploadKey(file.userId, file.fileId), bytes: file.size, sha256: file.sha256, attempts: 1, reason: null, detail: null });
    }

    const two = await jsonReport(second);
    expect(two.summary).toEqual({ ...NO_ITEMS, transferred: 1, skippedIdentical: n - 1, rowErrors: BAD_ROWS, conflicts: 1 });
    expect(two.items.filter((i) => i.outcome === "transferred").map((i) => i.fileId)).toEqual([missing.fileId]);
    for (const item of two.items) expect(item).toMatchObject({ bytes: byId.get(item.fileId)!.size, sha256: byId.get(item.fileId)!.sha256 });

    const checked = await jsonReport(verify);
    expect(checked.job.kind).toBe("verify");
    expect(checked.summary).toEqual({ ...NO_ITEMS, verified: n, rowErrors: 0, conflicts: 0 });
    expect(new Set(checked.items.map((i) => i.outcome))).toEqual(new Set(["verified"]));
    expect(checked.items).toHaveLength(n);

    // The summary agrees with the job view.
    const { body: view } = await adminJson(`/admin/jobs/${second}`);
    expect(view).toMatchObject({ items: { done: two.summary.transferred + two.summary.skippedIdentical, failed: 0 }, rowErrors: BAD_ROWS, conflicts: { total: 1 } });
  });

  it("lists the planted failure, the bad rows and the conflict in the errors variant, as CSV and as JSON alike", async () => {
    const json = await jsonReport(first, "?variant=errors");
    expect(json.variant).toBe("errors");
    expect(json.items).toEqual([{ fileId: missing.fileId, outcome: "failed", sourcePath: missing.filePath, r2Key: expect.any(String), bytes: null, sha256: null, attempts: 1, reason: "not_found", detail: "HTTP 404" }]);
    expect(json.rowErrors).toEqual(
      Array.from({ length: BAD_ROWS }, (_, i) => ({ table: "files", line: files.length + 2 + i, reason: "invalid_row", detail: "file_id: must be a UUID" })),
    );
    expect(json.conflicts).toEqual([{ conflictId: expect.any(Number), table: "users", fileId: null, line: expect.any(Number), reason: "username_taken", detail: expect.stringContaining("report_clash") }]);

    const res = await admin(`/admin/jobs/${first}/report?variant=errors`, { headers: { accept: "text/csv" } });
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="job-${first}-report-errors.csv"`);
    const [header, ...rows] = parseCsv(await res.text());
    expect(header).toEqual([...REPORT_COLUMNS]);
    expect(rows).toEqual(expectedCsvRows(json));
    expect(rows.map((r) => r[0])).toEqual(["item", ...Array<string>(BAD_ROWS).fill("row"), "conflict"]);

    // The second job copied the missing file: only the export's own problems remain.
    const later = await jsonReport(second, "?variant=errors&format=json");
    expect([later.items.length, later.rowErrors.length, later.conflicts.length]).toEqual([0, BAD_ROWS, 1]);
  });

  it("serves the full variant as CSV with the same rows as its JSON", async () => {
    const json = await jsonReport(second, "?format=json");
    const res = await admin(`/admin/jobs/${second}/report?format=csv`);
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="job-${second}-report.csv"`);
    const [header, ...rows] = parseCsv(await res.text());
    expect(header).toEqual([...REPORT_COLUMNS]);
    expect(rows).toEqual(expectedCsvRows(json));
    expect(rows.filter((r) => r[2] === "skipped_identical")).toHaveLength(files.length - 1);
    expect((await admin(`/admin/jobs/${second}/report`)).headers.get("content-disposition")).toBe(`attachment; filename="job-${second}-report.json"`);
  });

  it("loses and duplicates nothing across page boundaries", async () => {
    const stub = coordinator(env);
    for (const variant of ["full", "errors"] as const) {
      for (const format of ["json", "csv"] as const) {
        const whole = await (await admin(`/admin/jobs/${first}/report?variant=${variant}&format=${format}`)).text();
        for (const pageSize of [1, 2, 3]) {
          const paged = await (await reportResponse(stub, first, { variant, format }, pageSize)).text();
          expect(paged, `${variant} ${format}, pages of ${pageSize}`).toBe(whole);
        }
      }
    }
    const report = JSON.parse(await (await reportResponse(stub, first, { variant: "full", format: "json" }, 2)).text()) as JsonReport;
    expect(report.items.map((i) => i.fileId)).toEqual(files.map((f) => f.fileId).sort());
    expect(report.rowErrors.map((r) => r.line)).toEqual(Array.from({ length: BAD_ROWS }, (_, i) => files.length + 2 + i));
  });

  it("refuses a bad query with a 400 naming the field, and an unknown job with a 404", async () => {
    for (const [query, field] of [
      ["?variant=all", "variant"],
      ["?format=xml", "format"],
      ["?variant=errors&page=2", "page"],
    ]) {
      const res = await adminJson(`/admin/jobs/${first}/report${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.field, query).toBe(field);
    }
    expect((await adminJson(`/admin/jobs/not-a-job/report`)).body).toMatchObject({ field: "id" });
    const unknown = await adminJson(`/admin/jobs/${crypto.randomUUID()}/report?format=csv`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatch(/^no job /);
  });
});
