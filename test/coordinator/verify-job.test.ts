import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Failure } from "../../src/coordinator/model";
import { uploadKey } from "../../src/legacy/paths";
import { adminJson, corpus, fastRetries, sha256Hex, startJob, uploadCorpusExports, waitForJob } from "../helpers";

describe("verify jobs", () => {
  it("re-read every migrated object and flag the ones whose bytes no longer match D1; a full re-run repairs them", async () => {
    const legacy = await corpus();
    const files = legacy.files.filter((f) => !f.oversize);
    await uploadCorpusExports("verify");
    expect((await waitForJob(await startJob({ kind: "full", exportSet: "verify", settings: fastRetries }))).state).toBe("completed");

    const clean = await waitForJob(await startJob({ kind: "verify", settings: fastRetries }));
    expect(clean.state).toBe("completed");
    expect(clean.items).toEqual({ total: files.length, pending: 0, leased: 0, done: files.length, failed: 0 });
    expect(clean.bytes.done).toBe(files.reduce((n, f) => n + f.size, 0));

    const [corrupted, missing] = files.filter((f) => f.size > 100);
    const original = await (await env.FILES.get(uploadKey(corrupted!.userId, corrupted!.fileId)))!.arrayBuffer();
    const flipped = new Uint8Array(original);
    flipped[10] = flipped[10]! ^ 0xff;
    await env.FILES.put(uploadKey(corrupted!.userId, corrupted!.fileId), flipped);
    await env.FILES.delete(uploadKey(missing!.userId, missing!.fileId));

    const id = await startJob({ kind: "verify", settings: fastRetries });
    const dirty = await waitForJob(id);
    expect(dirty.state).toBe("completed_with_failures");
    expect(dirty.items).toMatchObject({ done: files.length - 2, failed: 2 });
    const { body } = await adminJson<{ failures: Failure[] }>(`/admin/jobs/${id}/failures`);
    const byFile = Object.fromEntries(body.failures.map((f) => [f.fileId, f.reason]));
    expect(byFile).toEqual({ [corrupted!.fileId]: "checksum_mismatch", [missing!.fileId]: "missing_object" });

    expect((await waitForJob(await startJob({ kind: "full", exportSet: "verify", settings: fastRetries }))).state).toBe("completed");
    for (const f of [corrupted!, missing!]) {
      expect(await sha256Hex((await env.FILES.get(uploadKey(f.userId, f.fileId)))!.body)).toBe(f.sha256);
    }
    expect((await waitForJob(await startJob({ kind: "verify", settings: fastRetries }))).state).toBe("completed");
  });
});
