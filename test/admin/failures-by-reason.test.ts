// GET /admin/jobs/:id/failures?reason=…: filtered and paged by the coordinator; the first page has the
// total and the count per reason, so a dashboard pages through a reason however many failures the job has.
import { describe, expect, it } from "vitest";
import type { Failure, FailurePage } from "../../src/coordinator/model";
import { adminJson } from "../helpers";
import { BAD_ROWS, jobWithFailures, MISSING, UNSAFE } from "./failing-job";

type Answer = FailurePage & { reason: string | null; limit: number; offset: number };

describe("GET /admin/jobs/:id/failures with a reason", () => {
  it("filters by reason in the coordinator, pages through it, and counts every reason", async () => {
    const id = await jobWithFailures("by-reason");

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
