import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { SCRATCH_TTL_MS } from "../../src/app/scratch-sweep";
import { api } from "../helpers";

async function cutterUpload(form: FormData): Promise<Response> {
  return api("/api/list_cutter/csv_cutter/", { method: "POST", body: form });
}

async function objectsUnder(prefix: string): Promise<string[]> {
  return (await env.FILES.list({ prefix })).objects.map((o) => o.key);
}

describe("csv_cutter scratch uploads", () => {
  it("leave no object behind when the request fails after the file part was stored", async () => {
    const before = await objectsUnder("cuts/");
    const form = new FormData();
    form.append("file", new Blob(["a,b\n1,2\n"], { type: "text/csv" }), "ok.csv");
    // 25 parts: the reader refuses the body after the file has gone to R2.
    for (let i = 0; i < 25; i++) form.append(`extra${i}`, "x");
    const res = await cutterUpload(form);
    expect(res.status).toBe(400);
    expect(await objectsUnder("cuts/")).toEqual(before);
  });

  it("are removed with their rows by the hourly sweep once older than the TTL, and orphans with them", async () => {
    const form = new FormData();
    form.append("file", new Blob(["a,b\n1,2\n"], { type: "text/csv" }), "keep.csv");
    const kept = await (await cutterUpload(form)).json<{ file_path: string }>();
    const old = await (await cutterUpload(form)).json<{ file_path: string }>();
    await env.DB.prepare(`UPDATE scratch_files SET created_at = ? WHERE r2_key = ?`).bind(new Date(Date.now() - SCRATCH_TTL_MS - 60_000).toISOString(), old.file_path).run();
    await env.FILES.put("cuts/00000000-0000-4000-8000-00000000beef.csv", "orphan");

    const ctx = createExecutionContext();
    // The orphan is younger than the TTL in R2's eyes: run the sweep a TTL in the future for it.
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "17 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await env.FILES.head(old.file_path)).toBeNull();
    expect(await env.DB.prepare(`SELECT 1 FROM scratch_files WHERE r2_key = ?`).bind(old.file_path).first()).toBeNull();
    expect(await env.FILES.head(kept.file_path)).not.toBeNull();

    const { sweepScratch } = await import("../../src/app/scratch-sweep");
    const later = await sweepScratch(env, Date.now() + SCRATCH_TTL_MS + 60_000);
    expect(later.objects).toBeGreaterThanOrEqual(2);
    expect(await env.FILES.head("cuts/00000000-0000-4000-8000-00000000beef.csv")).toBeNull();
    expect(await env.FILES.head(kept.file_path)).toBeNull();
  });
});
