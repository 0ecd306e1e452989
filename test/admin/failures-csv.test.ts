import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import type { Failure } from "../../src/coordinator/model";
import { exportCsv, toCsv } from "../legacy-origin/corpus";
import { admin, adminJson, corpus, fastRetries, putExport, startJob, waitForJob } from "../helpers";

const FILE_COLUMNS = ["id", "user_id", "file_id", "file_name", "file_path", "uploaded_at", "system_tags", "user_tags", "metadata"];
/** file_path values a spreadsheet would evaluate; each is refused at planning as unsafe_path. */
const FORMULAE = [`=HYPERLINK("http://evil.example/?x=1","click me")`, `=cmd|' /C calc'!A0`, "@SUM(1+1)*cmd|' /C calc'!A0", "+1+2", "-2+3"];

describe("GET /admin/jobs/:id/failures as CSV", () => {
  it("neutralises cells that a spreadsheet would evaluate, quotes them properly, and leaves the JSON as it was", async () => {
    const legacy = await corpus();
    const user = legacy.users[0]!.id;
    const rows = FORMULAE.map((path, i) => [i + 1, user, `00000000-0000-4000-8000-00000000f${String(i).padStart(3, "0")}`, `f${i}.csv`, path, "2024-01-01 00:00:00+00", "{}", "{}", "{}"]);
    await putExport("formulae", "users", exportCsv(legacy, "users"));
    await putExport("formulae", "files", toCsv(FILE_COLUMNS, rows));
    const id = await startJob({ kind: "full", exportSet: "formulae", settings: fastRetries });
    expect(await waitForJob(id)).toMatchObject({ state: "completed_with_failures", items: { failed: FORMULAE.length } });

    const { body } = await adminJson<{ failures: Failure[] }>(`/admin/jobs/${id}/failures`);
    expect(body.failures.map((f) => f.source).sort()).toEqual([...FORMULAE].sort());

    const res = await admin(`/admin/jobs/${id}/failures`, { headers: { accept: "text/csv" } });
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const text = await res.text();
    const [header, ...records] = Papa.parse<string[]>(text, { skipEmptyLines: true }).data;
    expect(header).toEqual(["kind", "fileId", "table", "line", "source", "reason", "detail", "attempts"]);
    expect(records.map((r) => r[4]).sort()).toEqual(FORMULAE.map((f) => `'${f}`).sort());
    for (const record of records) expect(record).toEqual(["item", expect.any(String), "", "", expect.any(String), "unsafe_path", expect.any(String), "0"]);
    // RFC 4180: the quoted cell is wrapped in quotes, its own quotes doubled, and rows end in CRLF.
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example/?x=1"",""click me"")"`);
    expect(text.endsWith("\r\n")).toBe(true);
  });
});
