// Request and copy metrics as Workers Analytics Engine data points: their exact layout, nothing
// without the binding, nothing thrown into the caller, and never more than the per-invocation cap.
import { env } from "cloudflare:workers";
import { createExecutionContext, createMessageBatch, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { handleCopyBatch } from "../../src/copy/consumer";
import type { CopyMessage } from "../../src/copy/messages";
import { Gate } from "../../src/cutover/gate";
import { emptyHistogram } from "../../src/cutover/histogram";
import { MetricsBuffer } from "../../src/cutover/metrics-buffer";
import type { BackendSample } from "../../src/cutover/metrics-model";
import { INITIAL_CUTOVER } from "../../src/cutover/state";
import { CutoverStateCache } from "../../src/cutover/state-cache";
import { UserDirectory } from "../../src/cutover/user-directory";
import { MAX_POINTS_PER_INVOCATION, PointBudget, writeCopyOutcomes, writeRequestSamples, type CopyOutcome } from "../../src/metrics/analytics";
import type { ControlPlane } from "../../src/relay/control-plane";

/** A dataset that keeps what is written to it. */
function recordingDataset() {
  const points: AnalyticsEngineDataPoint[] = [];
  return { points, writeDataPoint: (point?: AnalyticsEngineDataPoint) => void points.push(point!) };
}

const sum = (points: AnalyticsEngineDataPoint[], double: number) => points.reduce((n, p) => n + p.doubles![double - 1]!, 0);

function sample(backend: "workers" | "legacy", version: number, fill: number): BackendSample {
  const histogram = emptyHistogram();
  histogram[2] = fill;
  histogram[5] = 1;
  return { backend, version, requests: fill + 2, errors: 1, histogram, answered: [0, fill, 1, 4, 1], latencySumMs: 20 * fill + 200 };
}

afterEach(() => vi.restoreAllMocks());

describe("request points", () => {
  it("one per sample of a flushed batch: index and blob1 the backend, then requests, errors, answers per class, latency sum and count, version", () => {
    const dataset = recordingDataset();
    writeRequestSamples(dataset, [sample("workers", 7, 10), sample("legacy", 7, 3)]);
    expect(dataset.points).toEqual([
      { indexes: ["workers"], blobs: ["workers", "request"], doubles: [12, 1, 0, 10, 1, 4, 1, 400, 11, 7] },
      { indexes: ["legacy"], blobs: ["legacy", "request"], doubles: [5, 1, 0, 3, 1, 4, 1, 260, 4, 7] },
    ]);
  });

  it("a sample from a gate deployed before the answer counts and the latency sum writes zeros for them", () => {
    const dataset = recordingDataset();
    writeRequestSamples(dataset, [{ backend: "workers", version: 1, requests: 2, errors: 0, histogram: emptyHistogram() }]);
    expect(dataset.points[0]!.doubles).toEqual([2, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  });

  it("are written by the gate once its batch is delivered; a batch that was not is written once, with the next", async () => {
    const state = { ...INITIAL_CUTOVER, version: 3, phase: "cutover" as const, percent: 100 };
    let deliver = false;
    const plane: ControlPlane = {
      readState: async () => state,
      sendMetrics: async () => {
        if (!deliver) throw new Error("relay unreachable");
      },
    };
    vi.spyOn(console, "error").mockImplementation(() => {});
    // Flushes after every request.
    const gate = new Gate(new CutoverStateCache(() => plane.readState(), 60_000), new MetricsBuffer(1, 60_000), new UserDirectory(env.DB), async () => new Response("ok"), plane);
    const dataset = recordingDataset();
    const withDataset = { ...env, ANALYTICS: dataset };
    const serve = async (ip: string) => {
      const ctx = createExecutionContext();
      const res = await gate.handle(new Request("https://list-cutter.test/api/list_cutter/list_saved_files/", { headers: { "cf-connecting-ip": ip } }), withDataset, ctx);
      await res.arrayBuffer();
      await waitOnExecutionContext(ctx);
    };

    await serve("198.51.100.1");
    expect(dataset.points).toEqual([]);
    deliver = true;
    await serve("198.51.100.2");
    expect(dataset.points).toEqual([{ indexes: ["workers"], blobs: ["workers", "request"], doubles: [2, 0, 0, 2, 0, 0, 0, expect.any(Number), 2, 3] }]);
  });
});

describe("copy points", () => {
  const outcomes: CopyOutcome[] = [
    { outcome: "done", bytes: 1_234 },
    { outcome: "done", bytes: 99, identical: true },
    { outcome: "failed", reason: "http_5xx" },
  ];

  it("one per item outcome: index the job, blobs outcome, reason and kind, doubles bytes, 1 and identical", () => {
    const dataset = recordingDataset();
    writeCopyOutcomes(dataset, "job-1", "copy", outcomes);
    expect(dataset.points).toEqual([
      { indexes: ["job-1"], blobs: ["done", "", "copy"], doubles: [1_234, 1, 0] },
      { indexes: ["job-1"], blobs: ["done", "", "copy"], doubles: [99, 1, 1] },
      { indexes: ["job-1"], blobs: ["failed", "http_5xx", "copy"], doubles: [0, 1, 0] },
    ]);
  });

  it("summed per outcome and reason when the invocation's budget cannot take one per item", () => {
    const dataset = recordingDataset();
    const budget = new PointBudget();
    budget.left = 2;
    writeCopyOutcomes(dataset, "job-1", "verify", [...outcomes, { outcome: "failed", reason: "http_5xx" }], budget);
    expect(dataset.points).toEqual([
      { indexes: ["job-1"], blobs: ["done", "", "verify"], doubles: [1_333, 2, 1] },
      { indexes: ["job-1"], blobs: ["failed", "http_5xx", "verify"], doubles: [0, 2, 0] },
    ]);
    expect(budget.left).toBe(0);
  });

  it("are written by the consumer once a message is reported, one budget per batch, every item counted", async () => {
    const dataset = recordingDataset();
    const item = (i: number) => ({
      fileId: `f${i}`,
      attempt: 1,
      sourcePath: "../outside.csv",
      r2Key: `uploads/1/f${i}`,
      expectedSize: 1,
      record: { legacyId: i, userId: 1, fileName: "x.csv", uploadedAt: "2024-01-01T00:00:00.000Z", systemTags: [], userTags: [], metadata: {}, legacyPath: "/x" },
    });
    // 3 × 100 unsafe paths (failed without a fetch) and a verify of an object R2 does not hold.
    const copies = [0, 1, 2].map((m): CopyMessage => ({ kind: "copy", jobId: "job-a", fetchTimeoutMs: 1_000, concurrency: 8, items: Array.from({ length: 100 }, (_, i) => item(m * 100 + i)) }));
    const verify: CopyMessage = { kind: "verify", jobId: "job-b", concurrency: 1, items: [{ fileId: "v1", attempt: 1, r2Key: "uploads/1/nowhere", size: 1, sha256: "0".repeat(64) }] };
    const batch = createMessageBatch("file-copy", [...copies, verify].map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body })));
    const ctx = createExecutionContext();
    await handleCopyBatch(batch as MessageBatch<unknown>, { ...env, ANALYTICS: dataset });
    expect((await getQueueResult(batch, ctx)).explicitAcks.sort()).toEqual(["m0", "m1", "m2", "m3"]);

    expect(dataset.points.length).toBeLessThanOrEqual(MAX_POINTS_PER_INVOCATION);
    const ofJob = (job: string) => dataset.points.filter((p) => p.indexes![0] === job);
    expect(new Set(ofJob("job-a").map((p) => p.blobs!.join("/")))).toEqual(new Set(["failed/unsafe_path/copy"]));
    expect(sum(ofJob("job-a"), 2)).toBe(300);
    expect(ofJob("job-b")).toEqual([{ indexes: ["job-b"], blobs: ["failed", "missing_object", "verify"], doubles: [0, 1, 0] }]);
  });
});

describe("writing never gets in the caller's way", () => {
  it("without the binding nothing is written or logged", () => {
    const logged = vi.spyOn(console, "error");
    writeRequestSamples(undefined, [sample("workers", 1, 1)]);
    writeCopyOutcomes(undefined, "job-1", "copy", [{ outcome: "done", bytes: 1 }]);
    expect(logged).not.toHaveBeenCalled();
  });

  it("a dataset that throws is logged once per invocation and written to no more", () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const writes = vi.fn(() => {
      throw new Error("limit exceeded");
    });
    const budget = new PointBudget();
    expect(() => writeRequestSamples({ writeDataPoint: writes }, [sample("workers", 1, 1), sample("legacy", 1, 1)], budget)).not.toThrow();
    expect(() => writeCopyOutcomes({ writeDataPoint: writes }, "job-1", "copy", [{ outcome: "done", bytes: 1 }], budget)).not.toThrow();
    expect(writes).toHaveBeenCalledTimes(1);
    expect(logged).toHaveBeenCalledTimes(1);
  });

  it(`no invocation writes more than ${MAX_POINTS_PER_INVOCATION} points, and a lone copy call counts every item`, () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const backend = fc.constantFrom("workers" as const, "legacy" as const);
    const requestCall = fc.array(fc.tuple(backend, fc.nat(50), fc.nat(1_000)).map(([b, v, n]) => sample(b, v, n)), { maxLength: 40 }).map((samples) => ({ samples }));
    const outcome: fc.Arbitrary<CopyOutcome> = fc.oneof(
      fc.record({ outcome: fc.constant("done" as const), bytes: fc.nat(1e9), identical: fc.boolean() }),
      fc.record({ outcome: fc.constant("failed" as const), reason: fc.constantFrom("http_5xx", "timeout", "not_found", "storage") }),
    );
    const copyCall = fc.record({ jobId: fc.uuid(), outcomes: fc.array(outcome, { maxLength: 400 }) });
    fc.assert(
      fc.property(fc.array(fc.oneof(requestCall, copyCall), { maxLength: 12 }), (calls) => {
        const dataset = recordingDataset();
        const budget = new PointBudget();
        for (const call of calls) {
          if ("samples" in call) writeRequestSamples(dataset, call.samples, budget);
          else writeCopyOutcomes(dataset, call.jobId, "copy", call.outcomes, budget);
        }
        expect(dataset.points.length).toBeLessThanOrEqual(MAX_POINTS_PER_INVOCATION);
        expect(budget.left).toBe(MAX_POINTS_PER_INVOCATION - dataset.points.length);
      }),
    );
    fc.assert(
      fc.property(copyCall, ({ jobId, outcomes }) => {
        const dataset = recordingDataset();
        writeCopyOutcomes(dataset, jobId, "copy", outcomes);
        const groups = new Set(outcomes.map((o) => (o.outcome === "failed" ? o.reason : "done"))).size;
        expect(dataset.points.length).toBe(outcomes.length <= MAX_POINTS_PER_INVOCATION ? outcomes.length : groups);
        expect(sum(dataset.points, 1)).toBe(outcomes.reduce((n, o) => n + (o.outcome === "done" ? o.bytes : 0), 0));
        expect(sum(dataset.points, 2)).toBe(outcomes.length);
        expect(sum(dataset.points, 3)).toBe(outcomes.filter((o) => o.outcome === "done" && o.identical).length);
      }),
    );
  });
});

describe("the Worker under test", () => {
  it("has the ANALYTICS binding, and writing to it (locally dropped) does not throw or log", () => {
    const logged = vi.spyOn(console, "error");
    expect(env.ANALYTICS).toBeDefined();
    expect(() => env.ANALYTICS.writeDataPoint({ indexes: ["workers"], blobs: ["workers", "request"], doubles: [1] })).not.toThrow();
    writeRequestSamples(env.ANALYTICS, [sample("workers", 1, 1)]);
    writeCopyOutcomes(env.ANALYTICS, crypto.randomUUID(), "copy", [{ outcome: "done", bytes: 1 }]);
    expect(logged).not.toHaveBeenCalled();
  });
});
