// Text from the Worker on an operator's terminal: scripts/lib/printable.ts, and both CLIs (cutover,
// validate) against a fake Worker whose answers carry control characters, as an export row can.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "node:test";
import { printable, printableDeep } from "../../scripts/lib/printable.ts";

const root = new URL("../..", import.meta.url).pathname;
const HOSTILE = "\u001b[2J\u009b31m\n\tgone";
const SHOWN = "\\x1b[2J\\x9b31m\\x0a\\x09gone";
/** C0 (the newline between lines aside), DEL and C1. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

test("printable writes C0 (newline and tab too), DEL and C1 controls as \\xNN and leaves the rest alone", () => {
  assert.equal(printable(HOSTILE), SHOWN);
  assert.equal(printable("\u0000\u0007\r\u007f\u0080\u009f"), "\\x00\\x07\\x0d\\x7f\\x80\\x9f");
  assert.equal(printable("uploads/Q1 sales ✓ é \u00a0 \u2028 ok.csv"), "uploads/Q1 sales ✓ é \u00a0 \u2028 ok.csv");
  assert.deepEqual(printableDeep({ [`k${HOSTILE}`]: [HOSTILE, 1, null, { ok: true, s: HOSTILE }] }), { [`k${SHOWN}`]: [SHOWN, 1, null, { ok: true, s: SHOWN }] });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A script as a child process (asynchronously: the fake Worker answers from this process). */
function run(script: string, args: string[]): Promise<Run> {
  const { LC_WORKER: _worker, ADMIN_TOKEN: _token, ...env } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, script), ...args, "--token", "t"], { cwd: root, env, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr });
    });
  });
}

/** A Worker on 127.0.0.1 that answers each "METHOD /path" with the given status and JSON (or text). */
async function fakeWorker(routes: Record<string, [number, unknown]>): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    const [status, body] = routes[`${req.method} ${req.url}`] ?? [404, { error: "no route" }];
    res.writeHead(status, { "content-type": typeof body === "string" ? "text/plain" : "application/json" });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const show = (r: Run) => `exit ${r.code}\n--- stderr\n${r.stderr}\n--- stdout\n${r.stdout}`;

test("the cutover CLI escapes the Worker's text: a preflight report, a refusal, a 5xx body", async () => {
  const worker = await fakeWorker({
    "POST /admin/cutover/preflight": [200, { exportSet: "s", problems: [{ table: "files", line: 3, reason: "bad_row", detail: HOSTILE }], sample: { checked: 1, missing: 1, items: [{ fileId: "f", line: 3, path: HOSTILE, outcome: "missing", status: 404 }] } }],
    "POST /admin/cutover/run/pause": [409, { error: HOSTILE, field: HOSTILE }],
    "GET /admin/cutover/run": [502, HOSTILE],
  });
  try {
    const w = ["--worker", worker.url];
    const preflight = await run("scripts/cutover.ts", ["preflight", ...w, "--export-set", "s"]);
    assert.equal(preflight.code, 0, show(preflight));
    assert.match(preflight.stdout, new RegExp(`^ {2}files\\.csv line 3  bad_row  ${literal(SHOWN)}$`, "m"), show(preflight));
    assert.match(preflight.stdout, new RegExp(`^ {2}sample: files\\.csv line 3 ${literal(SHOWN)}  missing  HTTP 404$`, "m"), show(preflight));
    assert.doesNotMatch(preflight.stdout, RAW_CONTROL, show(preflight));

    const refused = await run("scripts/cutover.ts", ["pause", ...w]);
    assert.equal(refused.code, 1, show(refused));
    assert.equal(refused.stderr, `✖ refused by the Worker (HTTP 409): ${SHOWN} (field: ${SHOWN})\n`);

    const failing = await run("scripts/cutover.ts", ["status", ...w]);
    assert.equal(failing.code, 2, show(failing));
    assert.equal(failing.stderr, `✖ no answer from the Worker: GET /admin/cutover/run: HTTP 502 ${SHOWN}\n`);

    // --json is the Worker's JSON, as it was sent.
    const json = await run("scripts/cutover.ts", ["preflight", ...w, "--export-set", "s", "--json"]);
    assert.equal(JSON.parse(json.stdout).problems[0].detail, HOSTILE);
  } finally {
    await worker.close();
  }
});

test("the validate CLI escapes check details and failures on stderr, and writes the report as sent", async () => {
  const report = {
    ok: false,
    startedAt: "2026-11-03T10:00:00.000Z",
    finishedAt: "2026-11-03T10:00:01.000Z",
    durationMs: 1000,
    sample: 10,
    exportSet: null,
    checks: [{ group: "integrity", name: "export-rows", ok: false, ms: 5, detail: HOSTILE, failures: [`files.csv line 3: ${HOSTILE}`] }],
  };
  const worker = await fakeWorker({ "POST /admin/validate": [200, report] });
  try {
    const validated = await run("scripts/validate.ts", ["--worker", worker.url]);
    assert.equal(validated.code, 1, show(validated));
    assert.match(validated.stderr, new RegExp(`^✖ integrity/export-rows .* ms  ${literal(SHOWN)}$`, "m"), show(validated));
    assert.match(validated.stderr, new RegExp(`^ {4}- files\\.csv line 3: ${literal(SHOWN)}$`, "m"), show(validated));
    assert.doesNotMatch(validated.stderr, RAW_CONTROL, show(validated));
    assert.deepEqual(JSON.parse(validated.stdout), report);
  } finally {
    await worker.close();
  }
});

/** `text` as a regular expression that matches it literally. */
function literal(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}
