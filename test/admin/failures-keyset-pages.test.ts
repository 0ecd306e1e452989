// GET /admin/jobs/:id/failures?after=…: pages by key (bad rows by table and line, failed items by file id,
// conflicts by id), each read through an index, so a page costs the same however deep; together the
// pages are the offset pages' list, with or without a reason; a cursor that is not a `next` is a 400.
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { coordinator } from "../../src/env";
import type { Failure } from "../../src/coordinator/model";
import { env } from "cloudflare:workers";
import { adminJson } from "../helpers";
import { BAD_ROWS, jobWithFailures, MISSING, UNSAFE } from "./failing-job";

type Page = { failures: Failure[]; next: string | null; total: number | null };

async function everyPage(id: string, limit: number, reason?: string): Promise<{ failures: Failure[]; pages: number }> {
  const failures: Failure[] = [];
  let after: string | null = null;
  let pages = 0;
  do {
    const query: URLSearchParams = new URLSearchParams({ limit: String(limit), ...(reason ? { reason } : {}), ...(after ? { after } : {}) });
    const { status, body }: { status: number; body: Page } = await adminJson<Page>(`/admin/jobs/${id}/failures?${query}`);
    expect(status).toBe(200);
    failures.push(...body.failures);
    after = body.next;
    pages++;
  } while (after !== null && pages < 50);
  return { failures, pages };
}

describe("GET /admin/jobs/:id/failures?after=", () => {
  it("pages by key through every failure, each part from its index, the same list as offset pages", async () => {
    const id = await jobWithFailures("keyset");
    const all = (await adminJson<Page>(`/admin/jobs/${id}/failures?limit=100`)).body;
    expect(all.failures).toHaveLength(UNSAFE + MISSING + BAD_ROWS);
    expect(all.failures.map((f) => f.kind)).toEqual([...new Array(BAD_ROWS).fill("row"), ...new Array(UNSAFE + MISSING).fill("item")]);

    for (const limit of [1, 2, 3, 100]) {
      const { failures } = await everyPage(id, limit);
      expect(failures, `limit ${limit}`).toEqual(all.failures);
    }
    for (const reason of ["invalid_row", "unsafe_path", "not_found", "timeout"]) {
      expect((await everyPage(id, 2, reason)).failures, reason).toEqual(all.failures.filter((f) => f.reason === reason));
    }
    // The offset pages keep the same order.
    const byOffset: Failure[] = [];
    for (let offset = 0; offset < all.failures.length; offset += 2) byOffset.push(...(await adminJson<Page>(`/admin/jobs/${id}/failures?limit=2&offset=${offset}`)).body.failures);
    expect(byOffset).toEqual(all.failures);

    // Each part is read through its index: the failed items through their partial indexes, not a scan of the job's items.
    const plans = await runInDurableObject(coordinator(env), (_i, state) =>
      ["", "AND error = ?4"].map((byReason) =>
        state.storage.sql
          .exec<{ detail: string }>(`EXPLAIN QUERY PLAN SELECT file_id FROM items WHERE job_id = ?1 AND state = 'failed' AND file_id > ?2 ${byReason} ORDER BY file_id LIMIT ?3`, id, "", 10, ...(byReason ? ["not_found"] : []))
          .toArray()
          .map((r) => r.detail)
          .join("; "),
      ),
    );
    expect(plans[0]).toMatch(/USING (COVERING )?INDEX items_failed\b/);
    expect(plans[1]).toMatch(/USING (COVERING )?INDEX items_failed_by_reason\b/);
    for (const plan of plans) expect(plan).not.toMatch(/TEMP B-TREE/);
  });

  it("refuses a cursor that is not a page's next, and after with offset, naming after", async () => {
    const id = await jobWithFailures("keyset-bad");
    const forged = (value: unknown) => btoa(JSON.stringify(value)).replace(/=+$/, "");
    for (const after of ["x", "%%%", forged({ part: "item" }), forged({ part: "row", table: "files", line: -1 }), forged({ part: "conflict", id: 1, extra: true }), "a".repeat(401)]) {
      const { status, body } = await adminJson(`/admin/jobs/${id}/failures?after=${encodeURIComponent(after)}`);
      expect(status, after.slice(0, 40)).toBe(400);
      expect(body.field).toBe("after");
    }
    const next = (await adminJson<Page>(`/admin/jobs/${id}/failures?limit=1`)).body.next!;
    expect(await adminJson(`/admin/jobs/${id}/failures?limit=1&offset=1&after=${next}`)).toMatchObject({ status: 400, body: { field: "after" } });
  });
});
