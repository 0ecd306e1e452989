// GET /admin/metrics?format=prometheus from `wrangler dev`, after real traffic through the gate and a
// real job, read by a strict OpenMetrics parser: prometheus_client's (Debian's
// python3-prometheus-client), which refuses what the spec refuses (no # EOF, bad escapes, unsorted
// or non-cumulative buckets, a unit its name does not end with, a clash of names, …).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { encodeOpenMetrics } from "../../src/lib/openmetrics.ts";
import { startStack, STACK_ADMIN_TOKEN } from "./stack.ts";

const PORT = 8805;
const PYTHON = "/usr/bin/python3";
const PACKAGE = "python3-prometheus-client";
const TTL_MS = 200;
const EXPORT_SET = "om";
const OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8";

interface Family {
  name: string;
  type: string;
  unit: string;
  help: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

/** Parses OpenMetrics text strictly, printing the families as JSON; a parse error exits non-zero. */
const PARSER = `
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
families = [{"name": f.name, "type": f.type, "unit": f.unit, "help": f.documentation,
             "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples]}
            for f in text_string_to_metric_families(sys.stdin.read())]
print(json.dumps(families, allow_nan=False))
`;

function parseOpenMetrics(text: string): { families: Family[] } | { error: string } {
  const run = spawnSync(PYTHON, ["-c", PARSER], { input: text, encoding: "utf8", timeout: 60_000 });
  if (run.status !== 0) return { error: run.stderr.trim().split("\n").at(-1) ?? `exit ${run.status ?? run.signal}` };
  return { families: JSON.parse(run.stdout) as Family[] };
}

/** Whether the parser is there; outside CI a test without it is skipped, saying why. */
function parserAvailable(t: { skip(message: string): void }): boolean {
  if (spawnSync(PYTHON, ["-c", "import prometheus_client.openmetrics.parser"]).status === 0) return true;
  const why = `${PYTHON} cannot import prometheus_client.openmetrics.parser: install ${PACKAGE} (apt-get install ${PACKAGE})`;
  if (process.env.CI) assert.fail(why);
  t.skip(why);
  return false;
}

test("label values and HELP text are escaped as the parser unescapes them", (t) => {
  if (!parserAvailable(t)) return;
  const awkward = 'a "quoted" back\\slash, a\nnew line, \\n not one, and ünïcödé';
  const parsed = parseOpenMetrics(encodeOpenMetrics([{ name: "escape_check", type: "gauge", help: awkward, samples: [{ labels: { value: awkward, empty: "" }, value: 1.5 }] }]));
  assert.ok("families" in parsed, "error" in parsed ? parsed.error : "");
  assert.deepEqual(parsed.families, [{ name: "escape_check", type: "gauge", unit: "", help: awkward, samples: [{ name: "escape_check", labels: { value: awkward, empty: "" }, value: 1.5 }] }]);
});

test("the Prometheus form of /admin/metrics passes a strict OpenMetrics parser and tells the traffic and the job", { timeout: 240_000 }, async (t) => {
  if (!parserAvailable(t)) return;

  const stack = await startStack(PORT, { CUTOVER_CACHE_TTL_MS: String(TTL_MS) });
  const base = stack.worker.url;
  const auth = { authorization: `Bearer ${STACK_ADMIN_TOKEN}` };
  /** Each request from its own address: the gate counts at most 10 a second per client. */
  let address = 0;
  const request = async (path: string, init: { method?: string; body?: unknown; token?: string; ip?: string } = {}) => {
    const headers: Record<string, string> = { "cf-connecting-ip": init.ip ?? `198.51.100.${++address}`, "content-type": "application/json" };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    const res = await fetch(`${base}${path}`, { method: init.method ?? "GET", headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
    const text = await res.text();
    return { status: res.status, servedBy: res.headers.get("x-served-by"), body: text.startsWith("{") ? JSON.parse(text) : text };
  };
  const expectServed = (res: { status: number; servedBy: string | null; body: unknown }, status: number, servedBy: string, what: string) =>
    assert.deepEqual([res.status, res.servedBy], [status, servedBy], `${what}: ${JSON.stringify(res.body).slice(0, 300)}`);

  try {
    // A full job on the origin's exports.
    for (const table of ["users", "files", "filters"]) {
      const csv = await (await fetch(`${stack.origin.url}/__exports/${table}.csv`)).text();
      const res = await fetch(`${base}/admin/exports/${EXPORT_SET}/${table}`, { method: "PUT", headers: { ...auth, "content-type": "text/csv" }, body: csv });
      assert.equal(res.status, 201, `PUT ${table}: ${await res.text()}`);
    }
    const created = await fetch(`${base}/admin/jobs`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ kind: "full", exportSet: EXPORT_SET }) });
    assert.equal(created.status, 201);
    const jobId = ((await created.json()) as { id: string }).id;
    let job: any;
    for (const deadline = Date.now() + 90_000; Date.now() < deadline; await sleep(250)) {
      job = await (await fetch(`${base}/admin/jobs/${jobId}`, { headers: auth })).json();
      if (["completed", "completed_with_failures", "failed", "cancelled"].includes(job.state)) break;
    }
    assert.equal(job.state, "completed", JSON.stringify(job));

    // Traffic, phase legacy: a user registered on the new app (from an allowlisted address) is served
    // there; anonymous requests go to legacy, where three media requests meet a 503.
    await stack.patchCutover({ allowlist: { new: { ips: ["203.0.113.7"] } } });
    await sleep(TTL_MS + 300);
    const username = `om_${Date.now()}`;
    const password = "tangerine-orbit-4417-quasar";
    expectServed(await request("/api/accounts/register/", { method: "POST", ip: "203.0.113.7", body: { username, email: `${username}@example.com`, password, password2: password } }), 201, "workers", "register");
    const login = await request("/api/accounts/login/", { method: "POST", ip: "203.0.113.8", body: { username, password } });
    expectServed(login, 200, "workers", "login");
    const [workersOk, legacyOk, legacyErrors] = [6, 8, 3];
    for (let i = 0; i < workersOk; i++) expectServed(await request("/api/list_cutter/list_saved_files/", { token: (login.body as { access: string }).access }), 200, "workers", "files");
    for (let i = 0; i < legacyOk; i++) expectServed(await request(`/api/om/${i}/`), 200, "legacy", "legacy api");
    const file = stack.corpus.files.find((f) => !f.oversize && /^[\w./-]+$/.test(f.relativePath))!;
    await fetch(`${stack.origin.url}/__faults`, { method: "PUT", body: JSON.stringify([{ match: file.relativePath, kind: "status", status: 503, times: legacyErrors }]) });
    for (let i = 0; i < legacyErrors; i++) expectServed(await request(`/media/${file.relativePath}`), 503, "legacy", "faulty media");
    expectServed(await request("/media/uploads/no-such-file.csv"), 404, "legacy", "a 4xx, not recorded");
    // The gate hands its batch over once a second has passed, at its next request (which it counts).
    await sleep(1_100);
    expectServed(await request("/api/om/flush/"), 200, "legacy", "flush");
    const expected = { workers: { requests: workersOk + 2, errors: 0, timed: workersOk }, legacy: { requests: legacyOk + legacyErrors + 1, errors: legacyErrors, timed: legacyOk + legacyErrors + 1 } };

    let text = "";
    let families: Family[] = [];
    const value = (name: string, labels: Record<string, string> = {}) =>
      families.flatMap((f) => f.samples).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(200)) {
      const res = await fetch(`${base}/admin/metrics?format=prometheus&window=3600`, { headers: auth });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), OPENMETRICS);
      text = await res.text();
      const parsed = parseOpenMetrics(text);
      assert.ok("families" in parsed, `the strict parser refused the output (${"error" in parsed ? parsed.error : ""}):\n${text}`);
      families = parsed.families;
      if (value("list_cutter_gate_window_requests", { backend: "legacy" }) === expected.legacy.requests) break;
    }

    const byName = new Map(families.map((f) => [f.name, f]));
    assert.deepEqual(
      [...byName.values()].map((f) => [f.name, f.type, f.unit]),
      [
        ["list_cutter_gate_requests", "counter", ""],
        ["list_cutter_gate_latency_seconds", "histogram", "seconds"],
        ["list_cutter_gate_window_seconds", "gauge", "seconds"],
        ["list_cutter_gate_window_requests", "gauge", ""],
        ["list_cutter_gate_window_errors", "gauge", ""],
        ["list_cutter_gate_window_latency_seconds", "gaugehistogram", "seconds"],
        ["list_cutter_coordinator_state_reads", "counter", ""],
        ["list_cutter_cutover_phase", "stateset", ""],
        ["list_cutter_cutover_percent", "gauge", ""],
        ["list_cutter_cutover_maintenance", "gauge", ""],
        ["list_cutter_cutover_state_version", "gauge", ""],
        ["list_cutter_sync_lag_seconds", "gauge", "seconds"],
        ["list_cutter_job", "info", ""],
        ["list_cutter_job_items", "gauge", ""],
        ["list_cutter_job_done_bytes", "gauge", "bytes"],
        ["list_cutter_job_known_bytes", "gauge", "bytes"],
      ],
    );
    assert.match(byName.get("list_cutter_gate_window_requests")!.help, /over the last 3600 s \(a sliding window, not a counter\)/);
    assert.equal(value("list_cutter_gate_window_seconds"), 3600);
    for (const backend of ["workers", "legacy"] as const) {
      assert.equal(value("list_cutter_gate_window_requests", { backend }), expected[backend].requests, `${backend} requests`);
      assert.equal(value("list_cutter_gate_window_errors", { backend }), expected[backend].errors, `${backend} errors`);
      const buckets = byName.get("list_cutter_gate_window_latency_seconds")!.samples.filter((s) => s.labels.backend === backend);
      assert.deepEqual(
        buckets.map((s) => s.labels.le),
        ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "0.75", "1.0", "1.5", "2.5", "5.0", "10.0", "+Inf"],
      );
      assert.equal(buckets.at(-1)!.value, expected[backend].timed, `${backend}: requests without a body, timed`);
    }
    // Counters: every answer per status class (the 4xx too); the latency histogram with its count and sum.
    const answers = (backend: string) => ["1xx", "2xx", "3xx", "4xx", "5xx"].map((status_class) => value("list_cutter_gate_requests_total", { backend, status_class }));
    assert.deepEqual(answers("workers"), [0, expected.workers.requests, 0, 0, 0]);
    assert.deepEqual(answers("legacy"), [0, legacyOk + 1, 0, 1, legacyErrors]);
    for (const backend of ["workers", "legacy"] as const) {
      assert.equal(value("list_cutter_gate_latency_seconds_count", { backend }), expected[backend].timed, `${backend}: timed requests, counted`);
      assert.equal(value("list_cutter_gate_latency_seconds_bucket", { backend, le: "+Inf" }), expected[backend].timed);
      assert.ok(value("list_cutter_gate_latency_seconds_sum", { backend })! >= 0);
    }
    assert.ok(value("list_cutter_coordinator_state_reads_total")! > 0);
    assert.deepEqual(
      byName.get("list_cutter_cutover_phase")!.samples.filter((s) => s.value === 1).map((s) => s.labels.list_cutter_cutover_phase),
      ["legacy"],
    );
    assert.equal(value("list_cutter_cutover_percent"), 0);
    assert.equal(value("list_cutter_cutover_maintenance"), 0);
    assert.equal(value("list_cutter_cutover_state_version"), 1);
    assert.ok(value("list_cutter_sync_lag_seconds")! >= 0);
    assert.deepEqual(byName.get("list_cutter_job")!.samples, [{ name: "list_cutter_job_info", labels: { job_id: jobId, kind: "full", state: "completed", paused: "false" }, value: 1 }]);
    for (const item_state of ["pending", "leased", "done", "failed"]) assert.equal(value("list_cutter_job_items", { job_id: jobId, item_state }), job.items[item_state], item_state);
    assert.equal(value("list_cutter_job_done_bytes", { job_id: jobId, kind: "full" }), job.bytes.done);
    assert.equal(value("list_cutter_job_known_bytes", { job_id: jobId, kind: "full" }), job.bytes.total);
    assert.ok(job.bytes.done > 0);

    // Not a rubber stamp: the same parser refuses the text cut short of its # EOF.
    assert.ok("error" in parseOpenMetrics(text.replace("# EOF\n", "")), "the parser accepted a text without # EOF");
  } finally {
    await stack.stop();
  }
});
