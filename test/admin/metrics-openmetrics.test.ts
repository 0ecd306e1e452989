// GET /admin/metrics?format=prometheus through the Worker: real gate traffic on both sides and a
// real job, then the OpenMetrics text. The strict parse (Python's prometheus_client) is in
// test/node/metrics-openmetrics.test.ts: workerd cannot start a process.
import { beforeAll, describe, expect, it } from "vitest";
import { admin, adminJson, clearFaults, corpus, fastRetries, newUser, resetPrimaryCoordinator, setFaults, startJob, uploadCorpusExports, waitForJob, worker } from "../helpers";
import { OPENMETRICS_CONTENT_TYPE } from "../../src/lib/openmetrics";

/** Sample lines by series (`name{labels}`), as the encoder writes them. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/** Each request from its own address: the gate counts at most 10 a second per client. */
let address = 0;
function from(init: RequestInit = {}): RequestInit {
  address++;
  return { ...init, headers: { ...(init.headers as Record<string, string>), "cf-connecting-ip": `198.51.${100 + (address >> 8)}.${address & 255}` } };
}

async function drain(res: Response, status: number, servedBy: string): Promise<void> {
  await res.arrayBuffer();
  expect(res.status).toBe(status);
  expect(res.headers.get("x-served-by")).toBe(servedBy);
}

async function prometheus(query = "format=prometheus&window=600"): Promise<{ res: Response; text: string }> {
  const res = await admin(`/admin/metrics?${query}`);
  // Decoded by hand: workerd's text() warns about a content type it does not know as text.
  return { res, text: new TextDecoder().decode(await res.arrayBuffer()) };
}

describe("GET /admin/metrics?format=prometheus", () => {
  beforeAll(resetPrimaryCoordinator);

  it("exposes the gate's traffic per backend, the job's items and bytes, and the cutover state", async () => {
    await uploadCorpusExports("om-1");
    const jobId = await startJob({ kind: "full", exportSet: "om-1", settings: fastRetries });
    const job = await waitForJob(jobId);
    expect(job.state).toBe("completed");

    // The counters only grow, and gates of earlier tests may still flush: compared with a reading taken now.
    const before = samples((await prometheus()).text);
    // Phase legacy: anonymous requests go to legacy; a user the new app created is served by it.
    const user = await newUser(`om-${crypto.randomUUID().slice(0, 8)}`);
    const [workersOk, legacyOk, legacyErrors] = [7, 9, 3];
    for (let i = 0; i < workersOk; i++) await drain(await worker("/api/list_cutter/list_saved_files/", from({ headers: { authorization: `Bearer ${user.access}` } })), 200, "workers");
    for (let i = 0; i < legacyOk; i++) await drain(await worker(`/api/om/${i}/`, from()), 200, "legacy");
    const file = (await corpus()).files.find((f) => !f.oversize && /^[\w./-]+$/.test(f.relativePath))!;
    await setFaults([{ match: file.relativePath, kind: "status", status: 503, times: legacyErrors }]);
    try {
      for (let i = 0; i < legacyErrors; i++) await drain(await worker(`/media/${file.relativePath}`, from()), 503, "legacy");
    } finally {
      await clearFaults();
    }
    // A 4xx is counted, not judged; so is the new app's page.
    await drain(await worker("/media/uploads/no-such-file.csv", from()), 404, "legacy");
    await drain(await worker("/files", from({ headers: { authorization: `Bearer ${user.access}` } })), 200, "workers");
    // The gate hands its batch over once a second has passed, at its next request (which it counts).
    await new Promise((r) => setTimeout(r, 1_100));
    await drain(await worker("/api/om/flush/", from()), 200, "legacy");
    const legacyRequests = legacyOk + legacyErrors + 1;

    let text = "";
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      const got = await prometheus();
      expect(got.res.status).toBe(200);
      expect(got.res.headers.get("content-type")).toBe(OPENMETRICS_CONTENT_TYPE);
      text = got.text;
      if (samples(text).get('list_cutter_gate_window_requests{backend="legacy"}') === legacyRequests) break;
    }
    expect(text.endsWith("# EOF\n")).toBe(true);
    const s = samples(text);
    expect(s.get("list_cutter_gate_window_seconds")).toBe(600);
    expect(s.get('list_cutter_gate_window_requests{backend="workers"}')).toBe(workersOk);
    expect(s.get('list_cutter_gate_window_requests{backend="legacy"}')).toBe(legacyRequests);
    expect(s.get('list_cutter_gate_window_errors{backend="workers"}')).toBe(0);
    expect(s.get('list_cutter_gate_window_errors{backend="legacy"}')).toBe(legacyErrors);
    // Bodiless requests are all timed: the +Inf bucket is the request count, and buckets only grow.
    expect(s.get('list_cutter_gate_window_latency_seconds_bucket{backend="workers",le="+Inf"}')).toBe(workersOk);
    expect(s.get('list_cutter_gate_window_latency_seconds_bucket{backend="legacy",le="+Inf"}')).toBe(legacyRequests);
    const legacyBuckets = [...s].filter(([series]) => series.startsWith('list_cutter_gate_window_latency_seconds_bucket{backend="legacy"')).map(([, v]) => v);
    expect(legacyBuckets).toHaveLength(14);
    expect(legacyBuckets).toEqual([...legacyBuckets].sort((a, b) => a - b));
    expect(text).toContain('list_cutter_gate_window_latency_seconds_bucket{backend="legacy",le="0.005"}');
    expect(text).toContain('list_cutter_gate_window_latency_seconds_bucket{backend="legacy",le="1.0"}');

    // Counters per backend and status class, and the cumulative latency histogram.
    const grew = (series: string) => s.get(series)! - (before.get(series) ?? 0);
    const answers = (backend: string, statusClass: string) => grew(`list_cutter_gate_requests_total{backend="${backend}",status_class="${statusClass}"}`);
    expect(["1xx", "2xx", "3xx", "4xx", "5xx"].map((c) => answers("legacy", c))).toEqual([0, legacyOk + 1, 0, 1, legacyErrors]);
    expect(["1xx", "2xx", "3xx", "4xx", "5xx"].map((c) => answers("workers", c))).toEqual([0, workersOk + 1, 0, 0, 0]);
    expect(grew('list_cutter_gate_latency_seconds_count{backend="legacy"}')).toBe(legacyRequests);
    expect(grew('list_cutter_gate_latency_seconds_bucket{backend="legacy",le="+Inf"}')).toBe(legacyRequests);
    expect(grew('list_cutter_gate_latency_seconds_count{backend="workers"}')).toBe(workersOk);
    expect(grew('list_cutter_gate_latency_seconds_sum{backend="legacy"}')).toBeGreaterThanOrEqual(0);
    expect(text).toMatch(/^# TYPE list_cutter_gate_requests counter$/m);
    expect(text).toMatch(/^# TYPE list_cutter_gate_latency_seconds histogram$/m);

    const labels = `job_id="${jobId}",kind="full"`;
    expect(s.get(`list_cutter_job_info{${labels},state="completed",paused="false"}`)).toBe(1);
    expect(s.get(`list_cutter_job_items{${labels},item_state="done"}`)).toBe(job.items.done);
    expect(s.get(`list_cutter_job_items{${labels},item_state="failed"}`)).toBe(0);
    expect(s.get(`list_cutter_job_done_bytes{${labels}}`)).toBe(job.bytes.done);
    expect(s.get(`list_cutter_job_known_bytes{${labels}}`)).toBe(job.bytes.total);
    expect(job.bytes.done).toBeGreaterThan(0);

    expect(s.get('list_cutter_cutover_phase{list_cutter_cutover_phase="legacy"}')).toBe(1);
    expect(s.get('list_cutter_cutover_phase{list_cutter_cutover_phase="canary"}')).toBe(0);
    expect(s.get("list_cutter_cutover_percent")).toBe(0);
    expect(s.get("list_cutter_cutover_maintenance")).toBe(0);
    expect(s.get("list_cutter_sync_lag_seconds")).toBeGreaterThanOrEqual(0);
    expect(s.get("list_cutter_coordinator_state_reads_total")).toBeGreaterThan(0);

    // The JSON form is still the default, and tells the same numbers.
    const json = await adminJson("/admin/metrics?window=600");
    expect(json.body).toMatchObject({ windowSeconds: 600, backends: { workers: { requests: workersOk, errors: 0 }, legacy: { requests: legacyRequests, errors: legacyErrors } } });
  });

  it("refuses a bad format or window with a 400 naming the parameter", async () => {
    const cases: [string, string][] = [
      ["format=xml", "format"],
      ["format=json&format=prometheus", "format"],
      ["format=prometheus&window=5", "window"],
      ["format=prometheus&window=abc", "window"],
      ["format=prometheus&window=3601", "window"],
      ["format=prometheus&colour=red", "colour"],
    ];
    for (const [query, field] of cases) expect(await adminJson(`/admin/metrics?${query}`), query).toMatchObject({ status: 400, body: { field } });
    const res = await worker("/admin/metrics?format=prometheus");
    expect(res.status).toBe(401);
    await res.arrayBuffer();
  });
});
