// GET /admin/metrics/series: the coordinator's 1-second windows as a series, so a freshly opened
// dashboard draws the traffic it did not see.
import { beforeAll, describe, expect, it } from "vitest";
import type { MetricsSeries } from "../../src/cutover/metrics-model";
import { emptyHistogram, latencyBucket } from "../../src/cutover/histogram";
import { adminJson, ownCoordinator, resetPrimaryCoordinator, worker } from "../helpers";

describe("GET /admin/metrics/series", () => {
  beforeAll(resetPrimaryCoordinator);

  it("gives every step of the window per backend, oldest first, with what the gates flushed into it", async () => {
    // Traffic through the real gate: legacy answers anonymous requests while the cutover is on legacy.
    for (let i = 0; i < 6; i++) {
      const res = await worker(`/api/series/${i}/`, { headers: { "cf-connecting-ip": `198.51.100.${i + 1}` } });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    await new Promise((r) => setTimeout(r, 1_100));
    await (await worker("/api/series/flush/", { headers: { "cf-connecting-ip": "198.51.100.99" } })).arrayBuffer();
    let series: MetricsSeries | null = null;
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      const { status, body } = await adminJson<MetricsSeries>("/admin/metrics/series?window=60");
      expect(status).toBe(200);
      series = body;
      if (body.backends.legacy.reduce((n, p) => n + p.requests, 0) >= 7) break;
    }
    expect(series!.windowSeconds).toBe(60);
    expect(series!.stepSeconds).toBe(1);
    for (const points of Object.values(series!.backends)) {
      expect(points).toHaveLength(60);
      points.forEach((p, i) => i > 0 && expect(p.t - points[i - 1]!.t).toBe(1_000));
    }
    expect(series!.backends.legacy.reduce((n, p) => n + p.requests, 0)).toBe(7);
    expect(series!.backends.legacy.filter((p) => p.requests > 0).every((p) => p.p50Ms !== null && p.errors === 0)).toBe(true);
  });

  it("sums windows into longer steps for a long window, and keeps an hour", async () => {
    const stub = ownCoordinator("series-steps");
    const now = Date.now();
    const histogram = emptyHistogram();
    histogram[latencyBucket(40)] = 3;
    histogram[latencyBucket(400)] = 1;
    await stub.recordMetrics([{ backend: "workers", version: 1, requests: 4, errors: 1, histogram, answered: [0, 3, 0, 0, 1], latencySumMs: 520 }]);
    const series = await stub.metricsSeries(3600);
    expect(series.stepSeconds).toBe(12);
    expect(series.backends.workers).toHaveLength(300);
    const busy = series.backends.workers.filter((p) => p.requests > 0);
    expect(busy).toEqual([{ t: expect.any(Number), requests: 4, errors: 1, p50Ms: 50, p95Ms: 500 }]);
    expect(now - busy[0]!.t).toBeLessThan(12_000 + 1_000);
    expect(series.backends.legacy.every((p) => p.requests === 0 && p.p50Ms === null)).toBe(true);
    const counters = await stub.metricsCounters();
    expect(counters.workers).toEqual({ answered: { "1xx": 0, "2xx": 3, "3xx": 0, "4xx": 0, "5xx": 1 }, histogram, latencySumMs: 520 });
  });

  it("refuses a window outside 10 s to an hour, or an unknown parameter, with a 400 naming it", async () => {
    for (const [query, field] of [["window=5", "window"], ["window=3601", "window"], ["window=x", "window"], ["step=1", "step"]] as const) {
      expect(await adminJson(`/admin/metrics/series?${query}`), query).toMatchObject({ status: 400, body: { field } });
    }
    const res = await worker("/admin/metrics/series");
    expect(res.status).toBe(401);
    await res.arrayBuffer();
  });
});
