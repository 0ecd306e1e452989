// GET /admin/jobs/:id/failures?reason=…: filtered and paged by the coordinator; the first page has the
// total and the count per reason, so a dashboard pages through a reason however many failures the job has.
import { describe, expect, it } from "vitest";
import type { Failure, FailurePage } from "../../src/coordinator/model";
import { exportCsv, toCsv } from "../legacy-origin/corpus";
import { adminJson, corpus, fastRetries, putExport, startJob, waitForJob } from "../helpers";

const FILE_COLUMNS = ["id", "user_id", "file_id", "file_name", "file_path", "uploaded_at", "system_tags", "user_tags", "metadata"];
const [UNSAFE, MISSING, BAD_ROWS] = [4, 3, 2];

type Answer = FailurePage & { reason: string | null; limit: number; offset: number };

describe("GET /admin/jobs/:id/failures with a reason", () => {
  it("filters by reason in the coordinator, pages through it, and counts every reason", async () => {
    const legacy = await corpus();
    const user = legacy.users[0]!.id;
    const fileId = (n: number) => `00000000-0000-4000-8000-0000000fa${String(n).padStart(3, "0")}`;
    const rows: (string | number)[][] = [];
    for (let i = 0; i < UNSAFE; i++) rows.push([rows.length + 1, user, fileId(rows.length), `u${i}.csv`, `../../etc/passwd-${i}`, "2024-01-01 00:00:00+00", "{}", "{}", "{}"]);
    for (let i = 0; i < MISSING; i++) rows.push([rows.length + 1, user, fileId(rows.length), `m${i}.csv`, `/app/media/uploads/missing-${i}.csv`, "2024-01-01 00:00:00+00", "{}", "{}", "{}"]);
    for (let i = 0; i < BAD_ROWS; i++) rows.push([rows.length + 1, "not-a-user-id", fileId(rows.length), `b${i}.csv`, `/app/media/uploads/b${i}.csv`, "2024-01-01 00:00:00+00", "{}", "{}", "{}"]);
    await putExport("by-reason", "users", exportCsv(legacy, "users"));
    await putExport("by-reason", "files", toCsv(FILE_COLUMNS, rows));
    const id = await startJob({ kind: "full", exportSet: "by-reason", settings: fastRetries });
    await waitForJob(id);

    const all = (await adminJson<Answer>(`/admin/jobs/${id}/failures`)).body;
    expect(all.byReason).toEqual({ invalid_row: BAD_ROWS, not_found: MISSING, unsafe_path: UNSAFE });
    expect(all.total).toBe(UNSAFE + MISSING + BAD_ROWS);
    expect(all.failures).toHaveLength(all.total!);

    for (const [reason, n] of Object.entries(all.byReason!)) {
      // Two at a time: the pages together are exactly that reason's failures, in the unfiltered order.
      const seen: Failure[] = [];
      for (let offset = 0; offset < n + 2; offset += 2) {
        const { status, body } = await adminJson<Answer>(`/admin/jobs/${id}/failures?reason=${reason}&limit=2&offset=${offset}`);
        expect(status).toBe(200);
        // The counts come with the first page only (counting reads every failure of the job).
        expect(body).toMatchObject(offset === 0 ? { reason, total: n, limit: 2, offset, byReason: all.byReason } : { reason, total: null, byReason: null, limit: 2, offset });
        seen.push(...body.failures);
      }
      expect(seen).toEqual(all.failures.filter((f) => f.reason === reason));
    }

    expect((await adminJson<Answer>(`/admin/jobs/${id}/failures?reason=timeout`)).body).toMatchObject({ failures: [], total: 0, reason: "timeout" });
    for (const bad of ["Not_Found", "x;drop", "a".repeat(65), ""]) {
      expect(await adminJson(`/admin/jobs/${id}/failures?reason=${encodeURIComponent(bad)}`), bad).toMatchObject({ status: 400, body: { field: "reason" } });
    }
  });
});
