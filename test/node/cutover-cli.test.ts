// `npm run cutover` against the real Worker under `wrangler dev` (./stack.ts): a run started from
// flags, shown, paused, resumed, refused a skip of another stage, aborted; a wrong token (exit 1), a
// Worker that does not answer (exit 2), and the live view in a non-terminal (one line per change,
// Ctrl-C ends it, not the run).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { STACK_ADMIN_TOKEN, startStack } from "./stack.ts";

const PORT = 8801;
const EXPORT_SET = "cli-run";
const root = new URL("../..", import.meta.url).pathname;
const { LC_WORKER: _worker, ADMIN_TOKEN: _token, ...baseEnv } = process.env;
const withToken = { ...baseEnv, ADMIN_TOKEN: STACK_ADMIN_TOKEN };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The CLI as a child process (asynchronously: the fixture origin serves from this process).
 * `interruptAfterFirstLineMs` sends it a Ctrl-C that long after its first line of output (a live view
 * listens for Ctrl-C from then on; a fixed delay from the start would race Node's start-up).
 */
function cutover(args: string[], { env = withToken, interruptAfterFirstLineMs }: { env?: NodeJS.ProcessEnv; interruptAfterFirstLineMs?: number } = {}): Promise<Run> {
  const child = spawn(process.execPath, [join(root, "scripts/cutover.ts"), ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const timers = [setTimeout(() => child.kill("SIGKILL"), 30_000)];
  child.stdout.on("data", (chunk) => {
    const firstLine = !stdout.includes("\n");
    stdout += chunk;
    if (firstLine && stdout.includes("\n") && interruptAfterFirstLineMs !== undefined) timers.push(setTimeout(() => child.kill("SIGINT"), interruptAfterFirstLineMs));
  });
  child.stderr.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve) =>
    child.on("close", (code) => {
      timers.forEach(clearTimeout);
      resolve({ code, stdout, stderr });
    }),
  );
}

const show = (run: Run) => `exit ${run.code}\n--- stderr\n${run.stderr}\n--- stdout\n${run.stdout.slice(0, 4000)}`;

test("start, status, pause, resume, a refused skip, abort; a wrong token; an unreachable Worker; the live view in a log", { timeout: 90_000 }, async () => {
  const stack = await startStack(PORT);
  const base = stack.worker.url;
  const w = ["--worker", base];
  const runView = async (): Promise<{ state: string; stage: string | null; attention: string | null; gate: { percent: number } }> => {
    const res = await fetch(`${base}/admin/cutover/run`, { headers: { authorization: `Bearer ${STACK_ADMIN_TOKEN}` } });
    assert.equal(res.status, 200, `GET /admin/cutover/run: ${res.status}`);
    return (await res.json()) as never;
  };
  try {
    for (const table of ["users", "files", "filters"]) {
      const csv = await (await fetch(`${stack.origin.url}/__exports/${table}.csv`)).text();
      const res = await fetch(`${base}/admin/exports/${EXPORT_SET}/${table}`, { method: "PUT", headers: { authorization: `Bearer ${STACK_ADMIN_TOKEN}`, "content-type": "text/csv" }, body: csv });
      assert.equal(res.status, 201, `setup: PUT ${table}: ${await res.text()}`);
    }

    const preflight = await cutover(["preflight", ...w, "--export-set", EXPORT_SET, "--sample", "2"]);
    assert.equal(preflight.code, 0, `preflight: ${show(preflight)}`);
    assert.match(preflight.stdout, new RegExp(`^Preflight of export set ${EXPORT_SET} \\(exported \\d\\d:\\d\\d:\\d\\d UTC\\) in [\\d.]+ s$`, "m"), show(preflight));
    assert.match(preflight.stdout, /^ {2}files {6}rows (\d+) · would copy \1 · /m, show(preflight));
    assert.match(preflight.stdout, /^ {2}sample {5}checked 2 · ok 2 · /m, show(preflight));
    const preflightJson = await cutover(["preflight", ...w, "--export-set", EXPORT_SET, "--sample", "0", "--json"]);
    assert.equal(preflightJson.code, 0, show(preflightJson));
    assert.equal(JSON.parse(preflightJson.stdout).exportSet, EXPORT_SET);
    // The Worker's bound, refused before anything is sent.
    const tooMany = await cutover(["preflight", ...w, "--export-set", EXPORT_SET, "--sample", "201"]);
    assert.equal(tooMany.code, 2, show(tooMany));
    assert.match(tooMany.stderr, /^✖ --sample must be a whole number from 0 to 200\n\nusage: /, show(tooMany));

    // No run yet: the Worker's 404, exit 1.
    const none = await cutover(["status", ...w]);
    assert.equal(none.code, 1, show(none));
    assert.match(none.stderr, /^✖ refused by the Worker \(HTTP 404\): no cutover run has been started/, show(none));

    const started = await cutover(["start", ...w, "--export-set", EXPORT_SET, "--steps", "10", "--hold", "3600", "--detach"]);
    assert.equal(started.code, 0, `start: ${show(started)}`);
    assert.match(started.stdout, /^Cutover run [0-9a-f-]{36}   RUNNING$/m, `start: ${show(started)}`);
    assert.match(started.stdout, /^  ▶ copy /m, `start: ${show(started)}`);
    assert.doesNotMatch(started.stdout + started.stderr, new RegExp(STACK_ADMIN_TOKEN), "the token is never printed");

    const status = await cutover(["status", "--json"], { env: { ...withToken, LC_WORKER: base } });
    assert.equal(status.code, 0, `status --json: ${show(status)}`);
    const first = JSON.parse(status.stdout) as { state: string; stage: string | null; stages: { name: string }[] };
    assert.equal(first.state, "running", `status --json: ${status.stdout}`);
    assert.ok(first.stage === "copy" || first.stage === "canary", `status --json: stage ${first.stage}`);
    assert.equal(first.stages.length, 9);

    // The copy of the two-file corpus ends; the canary sets 10 %.
    let view = await runView();
    for (const deadline = Date.now() + 30_000; view.stage !== "canary" && view.state === "running" && Date.now() < deadline; view = await runView()) await sleep(250);
    assert.equal(view.stage, "canary", `the run did not reach the canary: ${JSON.stringify(view)}`);

    // Not a terminal: one line per change, with the stage; Ctrl-C ends the view (exit 0: the run goes on).
    const watched = await cutover(["status", ...w, "--watch", "--interval", "0.5"], { interruptAfterFirstLineMs: 1_500 });
    assert.equal(watched.code, 0, `status --watch: ${show(watched)}`);
    const lines = watched.stdout.trim().split("\n");
    assert.ok(lines.length >= 1 && lines.every((l) => / · canary \(stage 2\/9\) · /.test(l)), `status --watch: ${show(watched)}`);
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ run [0-9a-f]{8} running · canary \(stage 2\/9\) · new 10 % \/ legacy 90 % · step 1\/1/, show(watched));
    assert.doesNotMatch(watched.stdout, /\x1b\[/, "no ANSI codes outside a terminal");
    assert.equal((await runView()).state, "running", "Ctrl-C left the run alone");

    const paused = await cutover(["pause", ...w, "--reason", "x"]);
    assert.equal(paused.code, 0, `pause: ${show(paused)}`);
    assert.match(paused.stdout, /PAUSED/, show(paused));
    assert.match(paused.stdout, /‼ ATTENTION: x/, show(paused));
    const pausedJson = await cutover(["status", ...w, "--json"]);
    assert.equal(pausedJson.code, 0, show(pausedJson));
    assert.equal(JSON.parse(pausedJson.stdout).state, "paused");

    const resumed = await cutover(["resume", ...w]);
    assert.equal(resumed.code, 0, `resume: ${show(resumed)}`);
    assert.match(resumed.stdout, /RUNNING/, show(resumed));
    assert.equal((await runView()).state, "running");

    // A skip meant for another stage: the Worker's 409 and its field.
    const skip = await cutover(["skip", ...w, "--stage", "verify", "--reason", "not now"]);
    assert.equal(skip.code, 1, `skip: ${show(skip)}`);
    assert.match(skip.stderr, /^✖ refused by the Worker \(HTTP 409\): stage: the run is at canary, not verify \(field: stage\)$/m, show(skip));

    const wrongToken = await cutover(["status", ...w, "--token", "not-the-token"], { env: baseEnv });
    assert.equal(wrongToken.code, 1, `wrong token: ${show(wrongToken)}`);
    assert.match(wrongToken.stderr, /^✖ refused by the Worker \(HTTP 401\): missing or invalid bearer token$/m, show(wrongToken));

    const unreachable = await cutover(["status", "--worker", "http://127.0.0.1:9"]);
    assert.equal(unreachable.code, 2, `unreachable: ${show(unreachable)}`);
    assert.match(unreachable.stderr, /^✖ no answer from the Worker: GET \/admin\/cutover\/run: fetch failed/m, show(unreachable));

    const aborted = await cutover(["abort", ...w, "--reason", "done"]);
    assert.equal(aborted.code, 0, `abort: ${show(aborted)}`);
    assert.match(aborted.stdout, /ABORTED/, show(aborted));
    assert.match(aborted.stdout, /^  ✗ canary .*aborted: done/m, show(aborted));

    // An aborted run: status says so, and exits 1.
    const after = await cutover(["status", ...w]);
    assert.equal(after.code, 1, `status after abort: ${show(after)}`);
    assert.match(after.stdout, /ABORTED/, show(after));
    assert.match(after.stdout, /new 0 % \/ legacy 100 %/, show(after));
  } finally {
    await stack.stop();
  }
});
