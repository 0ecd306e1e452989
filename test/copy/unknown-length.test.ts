import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { Failure } from "../../src/coordinator/model";
import { putStream } from "../../src/copy/r2-writer";
import { uploadKey } from "../../src/legacy/paths";
import { adminJson, clearFaults, corpus, fastRetries, setFaults, sha256Hex, startJob, uploadCorpusExports, waitForJob } from "../helpers";

afterEach(clearFaults);

/** A stream of `size` pseudo-random bytes in uneven chunks, with no declared length. */
function generated(size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  let seed = 7;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      const n = Math.min(size - sent, 100_000 + (sent % 77_777));
      const chunk = new Uint8Array(n);
      for (let i = 0; i < n; i++) chunk[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      sent += n;
      controller.enqueue(chunk);
    },
  });
}

describe("bodies without a Content-Length", () => {
  it("are copied from a chunked origin, and refused while streaming once past MAX_FILE_SIZE", async () => {
    const legacy = await corpus();
    const small = legacy.files.find((f) => !f.oversize && f.size > 10_000)!;
    const nearLimit = legacy.files.filter((f) => !f.oversize).sort((a, b) => b.size - a.size)[0]!;
    const oversize = legacy.files.find((f) => f.oversize)!;
    await uploadCorpusExports("chunked", "all");
    await setFaults([small, nearLimit, oversize].map((f) => ({ match: f.relativePath, kind: "chunked" as const })));

    const id = await startJob({ kind: "full", exportSet: "chunked", settings: fastRetries });
    const job = await waitForJob(id);

    expect(job.state).toBe("completed_with_failures");
    const { body } = await adminJson<{ failures: Failure[] }>(`/admin/jobs/${id}/failures`);
    expect(body.failures).toEqual([expect.objectContaining({ fileId: oversize.fileId, reason: "too_large", detail: expect.stringContaining("body exceeds MAX_FILE_SIZE") })]);
    for (const f of [small, nearLimit]) {
      expect(await sha256Hex((await env.FILES.get(uploadKey(f.userId, f.fileId)))!.body), f.relativePath).toBe(f.sha256);
    }
  });

  it("go to R2 in fixed-size multipart parts when larger than one part", async () => {
    const size = 19 * 1024 * 1024 + 12_345;
    const expected = await sha256Hex(generated(size));
    await putStream(env.FILES, "test/multipart.bin", generated(size), null, {});
    const object = await env.FILES.get("test/multipart.bin");
    expect(object!.size).toBe(size);
    expect(await sha256Hex(object!.body)).toBe(expected);
    expect(object!.etag).toMatch(/-3$/); // three parts: 8 MiB, 8 MiB, the rest
  });
});
