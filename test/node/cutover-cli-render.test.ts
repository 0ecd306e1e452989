// `npm run cutover`'s pure parts: the run view and the preflight report as text, and its command
// line (a bad one exits 2 with the usage).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { Unreachable } from "../../scripts/cutover/api.ts";
import { readOptions, UsageError } from "../../scripts/cutover/args.ts";
import { renderPreflight } from "../../scripts/cutover/preflight.ts";
import { changeKey, compactLine, renderRun } from "../../scripts/cutover/render.ts";
import { exitCodeOf, isFinished, type JobView, type RunView, type StageView } from "../../scripts/cutover/view.ts";
import { watch } from "../../scripts/cutover/watch.ts";

const root = new URL("../..", import.meta.url).pathname;
const NOW = Date.parse("2026-11-03T11:02:00Z");
const STAGES = ["copy", "canary", "maintenance", "final_delta", "verify", "validate", "switch", "maintenance_off", "watch"];
const ANSI = /\x1b\[/;

const at = (hhmmss: string) => `2026-11-03T${hhmmss}.000Z`;

function stages(states: Record<string, Partial<StageView>>): StageView[] {
  return STAGES.map((name) => ({ name, state: "pending", startedAt: null, endedAt: null, timeoutAt: null, jobIds: [], note: null, waitingFor: null, ...states[name] }));
}

function job(overrides: Partial<JobView> = {}): JobView {
  return {
    id: "7d2e4b1a-0c3f-4e5d-9a8b-112233445566",
    kind: "delta",
    state: "copying",
    paused: false,
    error: null,
    items: { pending: 50, leased: 8, done: 40, failed: 2, total: 100 },
    bytes: { done: 1.2 * 1024 * 1024, total: 3.4 * 1024 * 1024 },
    throughput: { filesPerSecond: 12.34, bytesPerSecond: 450 * 1024 },
    eta: 80,
    ...overrides,
  };
}

function view(overrides: Partial<RunView> = {}): RunView {
  return {
    id: "5b0d6f3e-8a7c-4a57-9a8e-1f1b2c3d4e5f",
    state: "running",
    stage: "canary",
    waitingFor: "step 2/3 (25 %): a healthy verdict (≥ 50 requests to the new app in 60 s) after 2026-11-03T11:10:00.000Z",
    attention: null,
    stages: stages({
      copy: { state: "done", startedAt: at("10:00:00"), endedAt: at("10:12:39"), jobIds: ["8c2f"], note: "full job 8c2f completed" },
      canary: { state: "running", startedAt: at("10:12:39"), timeoutAt: "2026-11-17T10:12:39.000Z", jobIds: ["7d2e"], note: "plan set: 5 → 25 → 50 %, 600 s each", waitingFor: "step 2/3 (25 %)" },
    }),
    gate: {
      phase: "canary",
      percent: 25,
      maintenance: false,
      plan: { step: 2, of: 3, steps: [5, 25, 50], holdSeconds: 600, stepStartedAt: at("11:00:00"), held: false },
      holdBack: null,
      newApp: { requests: 1234, errors: 5, errorRate: 5 / 1234, p50Ms: 40, p95Ms: 120, flushes: 40 },
    },
    job: job(),
    sync: { lastSync: { jobId: "8c2f", kind: "full", exportedAt: at("10:57:50") }, lagSeconds: 250 },
    validation: null,
    plan: { exportSet: "2026-11", canary: { steps: [5, 25, 50], holdSeconds: 600, maxSyncLagSeconds: 900 }, thresholds: { errorRate: 0.02 }, watchSeconds: 3600 },
    createdAt: at("10:00:00"),
    updatedAt: at("11:01:58"),
    finishedAt: null,
    startedBy: "admin@203.0.113.7",
    ...overrides,
  };
}

test("a run in the canary with a delta job: stages, split, step, job progress, error rate, sync lag", () => {
  const text = renderRun(view(), NOW, { color: false });
  assert.doesNotMatch(text, ANSI, "no color was asked for");
  for (const expected of [
    "Cutover run 5b0d6f3e-8a7c-4a57-9a8e-1f1b2c3d4e5f   RUNNING",
    "export set 2026-11 · started 10:00:00 UTC (1h 02m ago) by admin@203.0.113.7",
    "waiting for: step 2/3 (25 %): a healthy verdict",
    "new 25 % / legacy 75 %",
    "maintenance off",
    "canary step 2/3 (5 → 25 → 50 %) · on this step 2m 00s of 10m 00s",
    "delta job 7d2e4b1a-0c3f-4e5d-9a8b-112233445566 copying",
    "items 40/100 (2 failed)",
    "1.2 MiB / 3.4 MiB",
    "12.34 files/s, 450.0 KiB/s",
    "ETA 1m 20s",
    "[█████████████░░░░░░░░░░░░░░░░░] 42 %",
    "error rate 0.41 % (5 of 1,234 requests; limit 2 %)",
    "p95 120 ms",
    "lag 4m 10s (at most 15m 00s to advance) · last full job 8c2f",
  ]) {
    assert.ok(text.includes(expected), `missing ${JSON.stringify(expected)} in:\n${text}`);
  }
  const lines = text.split("\n");
  const row = (name: string) => lines.find((l) => new RegExp(`^  . ${name}\\b`).test(l)) ?? assert.fail(`no row for ${name}:\n${text}`);
  assert.match(row("copy"), /^  ✓ copy\s+10:00:00  →  10:12:39\s+12m 39s\s+full job 8c2f completed$/);
  assert.match(row("canary"), /^  ▶ canary\s+10:12:39  →  …\s+49m 21s\s+plan set: 5 → 25 → 50 %, 600 s each · times out in 13d 23h$/);
  for (const pending of STAGES.slice(2)) assert.match(row(pending), new RegExp(`^  · ${pending}$`));
  assert.doesNotMatch(text, /ATTENTION/);

  const colored = renderRun(view(), NOW, { color: true });
  assert.match(colored, ANSI, "color was asked for");
  assert.equal(colored.replace(/\x1b\[\d+m/g, ""), text, "color changes nothing but the styles");
});

test("a paused run wants attention: highlighted, with what it waits for", () => {
  const attention = "copy: full job 8c2f completed with 3 failed items, 0 bad rows and 0 open conflicts (GET /admin/jobs/8c2f/report?variant=errors)";
  const paused = view({
    state: "paused",
    stage: "copy",
    waitingFor: "an operator: resume, skip the stage or abort",
    attention,
    stages: stages({ copy: { state: "running", startedAt: at("10:00:00"), timeoutAt: "2026-11-10T10:00:00.000Z", jobIds: ["8c2f"] } }),
    gate: { ...view().gate, phase: "legacy", percent: 0, plan: null, newApp: { requests: 0, errors: 0, errorRate: 0, p50Ms: null, p95Ms: null, flushes: 0 } },
    job: job({ id: "8c2f", kind: "full", state: "completed_with_failures", items: { pending: 0, leased: 0, done: 97, failed: 3, total: 100 }, eta: null }),
    sync: { lastSync: null, lagSeconds: null },
  });
  const text = renderRun(paused, NOW, { color: false });
  for (const expected of [
    "PAUSED",
    `‼ ATTENTION: ${attention}`,
    "waiting for: an operator: resume, skip the stage or abort",
    "new 0 % / legacy 100 %",
    "no requests in the analysis window",
    "no full or delta job has finished yet",
    "full job 8c2f completed_with_failures",
    "items 97/100 (3 failed)",
    "ETA -",
    "[██████████████████████████████] 100 %",
  ]) {
    assert.ok(text.includes(expected), `missing ${JSON.stringify(expected)} in:\n${text}`);
  }
  assert.match(text, /^  ▶ copy\s+10:00:00  →  …\s+1h 02m\s+times out in 6d 22h$/m);
  const colored = renderRun(paused, NOW, { color: true });
  assert.ok(colored.includes(`\x1b[1m\x1b[31m‼ ATTENTION: ${attention}\x1b[39m\x1b[22m`), `attention in bold red:\n${JSON.stringify(colored)}`);
  assert.equal(exitCodeOf(paused), 0);
  assert.equal(isFinished(paused), false);
  assert.match(compactLine(paused, NOW), /^2026-11-03T11:02:00Z run 5b0d6f3e paused · copy \(stage 1\/9\) · new 0 % \/ legacy 100 % · full job completed_with_failures 97\/100 items .* · ! copy: full job 8c2f .* · waiting for an operator/);
});

test("a completed run: every stage ticked, finished, validation passed, exit 0; a rolled-back one exits 1", () => {
  const done: Record<string, Partial<StageView>> = {};
  STAGES.forEach((name, i) => (done[name] = { state: "done", startedAt: `2026-11-02T0${i}:00:00.000Z`, endedAt: `2026-11-02T0${i}:30:00.000Z`, note: `${name} done` }));
  const completed = view({
    state: "completed",
    stage: null,
    waitingFor: null,
    stages: stages(done),
    gate: { ...view().gate, phase: "complete", percent: 100, plan: null },
    job: null,
    validation: { ok: true, checks: Array.from({ length: 12 }, (_, i) => ({ name: `check ${i}`, ok: true })) },
    createdAt: "2026-11-02T00:00:00.000Z",
    finishedAt: "2026-11-02T08:30:00.000Z",
  });
  const text = renderRun(completed, NOW, { color: false });
  assert.ok(text.includes("COMPLETED"), text);
  assert.ok(text.includes("started 2026-11-02 00:00 UTC (1d 11h ago)"), text);
  assert.ok(text.includes("finished 2026-11-02 08:30 after 8h 30m"), text);
  assert.ok(text.includes("phase complete · new 100 % / legacy 0 %"), text);
  assert.ok(text.includes("Validation 12/12 checks passed"), text);
  assert.doesNotMatch(text, /waiting for|Job /);
  for (const name of STAGES) assert.match(text, new RegExp(`^  ✓ ${name}\\s+2026-11-02 0\\d:00  →  2026-11-02 0\\d:30\\s+30m 00s\\s+${name} done$`, "m"));
  assert.equal(exitCodeOf(completed), 0);
  assert.equal(isFinished(completed), true);

  const rolledBack = view({ state: "rolled_back", attention: "canary: rolled back by analysis", finishedAt: at("11:00:00"), stages: stages({ copy: { state: "done", startedAt: at("10:00:00"), endedAt: at("10:10:00") }, canary: { state: "failed", startedAt: at("10:10:00"), endedAt: at("11:00:00"), note: "rolled back by analysis" }, maintenance: { state: "skipped", startedAt: at("11:00:00"), endedAt: at("11:00:00"), note: "not needed" } }) });
  const rolledText = renderRun(rolledBack, NOW, { color: false });
  assert.match(rolledText, /ROLLED BACK/);
  assert.match(rolledText, /^  ✗ canary .* rolled back by analysis$/m);
  assert.match(rolledText, /^  ↷ maintenance .* skipped: not needed$/m);
  assert.equal(exitCodeOf(rolledBack), 1);
  assert.equal(exitCodeOf(view({ state: "aborted" })), 1);
  assert.equal(exitCodeOf(view({ state: "failed" })), 1);
});

test("the one-line form names the stage; throughput and ETA alone are no change", () => {
  const line = compactLine(view(), NOW);
  assert.match(line, /^2026-11-03T11:02:00Z run 5b0d6f3e running · canary \(stage 2\/9\) · new 25 % \/ legacy 75 % · step 2\/3 · delta job copying 40\/100 items 1\.2 MiB\/3\.4 MiB ETA 1m 20s · new app errors 0\.41 % p95 120 ms · waiting for step 2\/3/);
  assert.doesNotMatch(line, /\n/);
  const faster = view({ job: job({ eta: 30, throughput: { filesPerSecond: 40, bytesPerSecond: 1 } }) });
  assert.equal(changeKey(faster), changeKey(view()));
  assert.notEqual(changeKey(view({ job: job({ items: { pending: 49, leased: 8, done: 41, failed: 2, total: 100 } }) })), changeKey(view()));
  assert.notEqual(changeKey(view({ state: "paused" })), changeKey(view()));
});

/** A Worker that answers each GET /admin/cutover/run with the next of `answers` (an Error is thrown). */
function scripted(answers: (RunView | Error)[]) {
  return {
    async run(): Promise<RunView> {
      const next = answers.shift() ?? assert.fail("the watch asked once too often");
      if (next instanceof Error) throw next;
      return next;
    },
  };
}

test("the live view outside a terminal: a line per change, a refresh that fails is said once, it stops when told", async () => {
  const written: string[] = [];
  const screen = { write: (text: string) => written.push(text), tty: false, color: false };
  const faster = view({ job: job({ eta: 20 }) });
  const paused = view({ state: "paused", attention: "x" });
  const last = await watch(scripted([faster, new Unreachable("GET /admin/cutover/run: fetch failed"), new Unreachable("GET /admin/cutover/run: fetch failed"), paused]), view(), screen, {
    intervalMs: 1,
    json: false,
    until: (v) => v.state !== "running",
    signal: new AbortController().signal,
  });
  assert.equal(last.state, "paused");
  assert.equal(written.length, 3, written.join(""));
  assert.match(written[0]!, / running · canary \(stage 2\/9\) · .*ETA 1m 20s/);
  assert.match(written[1]!, /Z ⚠ GET \/admin\/cutover\/run: fetch failed; still trying\n$/);
  assert.match(written[2]!, / paused · canary .* · ! x · /);
  assert.ok(written.every((line) => line.endsWith("\n") && !ANSI.test(line)));
});

test("the live view on a terminal redraws in place; a Worker that stays silent ends it (exit 2's error)", async () => {
  const written: string[] = [];
  const screen = { write: (text: string) => written.push(text), tty: true, color: true };
  const silent = new Unreachable("GET /admin/cutover/run: no complete answer within 120 s");
  let asked = 0;
  const api = {
    async run(): Promise<RunView> {
      if (asked++ === 0) return view();
      throw silent;
    },
  };
  await assert.rejects(watch(api, view(), screen, { intervalMs: 1, json: false, until: () => false, signal: new AbortController().signal, giveUpMs: 20 }), (e) => e === silent);
  assert.ok(asked >= 3, `asked ${asked} times`);
  assert.ok(written.length >= 3, `frames: ${written.length}`);
  assert.ok(written[0]!.startsWith("\x1b[2J\x1b[H"), "the first frame clears the screen");
  assert.ok(written.slice(1).every((frame) => frame.startsWith("\x1b[H") && !frame.includes("\x1b[2J")), "later frames go home and overwrite");
  assert.ok(written.every((frame) => frame.endsWith("\x1b[K\n\x1b[J") && frame.includes("Ctrl-C stops this view, not the run")));
  assert.match(written.at(-1)!, /⚠ GET \/admin\/cutover\/run: no complete answer within 120 s; still trying/);
});

test("Ctrl-C ends the live view with the last run seen", async () => {
  const stop = new AbortController();
  const written: string[] = [];
  const pending = watch({ run: () => new Promise<RunView>(() => {}) }, view(), { write: (t) => written.push(t), tty: false, color: false }, { intervalMs: 60_000, json: true, until: () => false, signal: stop.signal });
  stop.abort();
  assert.equal((await pending).id, view().id);
  assert.deepEqual(written.map((line) => JSON.parse(line).state), ["running"]);
});

test("a preflight report: its counts, nonzero refusals and conflicts, the sample, the estimate, the problems", () => {
  const report = {
    exportSet: "2026-11",
    exportedAt: "2026-11-03T09:58:00.000Z",
    users: { rows: 120, wouldImport: 118 },
    filters: { rows: 40, wouldImport: 39, deletedOnNew: 1 },
    files: { rows: 300, wouldCopy: 290, alreadyInD1: 12, deletedOnNew: 2, bytesDeclared: 1288490189, undeclaredSize: 3 },
    refused: { badRows: { users: 0, filters: 0, files: 2 }, unsafePath: 1, unknownUser: 0, duplicateFileId: 0, tooLarge: 0, userInConflict: { filters: 0, files: 0 }, filterUnknownUser: 0 },
    conflicts: { username: 0, email: 0, fileIdHeld: 0, idHeld: { users: 0, filters: 0 }, changedOnBothSides: { users: 0, filters: 0, files: 0 }, openInCoordinator: 0 },
    sample: {
      checked: 2,
      ok: 1,
      missing: 1,
      sizeMismatch: 0,
      tooLarge: 0,
      errors: 0,
      items: [
        { fileId: "a", line: 5, path: "uploads/a.csv", outcome: "ok", status: 200, size: 10, declared: 10 },
        { fileId: "b", line: 9, path: "uploads/b.csv", outcome: "missing", status: 404, size: null, declared: null },
      ],
    },
    estimate: { seconds: 860, bytes: 1288490189, bytesPerSecond: 5 * 1024 * 1024, filesPerSecond: 20, basis: "default: 20 files/s, 5 MiB/s (no finished full or delta job yet)" },
    problems: [{ table: "files", line: 17, reason: "unsafe_path", detail: "file_path has '..'" }],
    jobWouldFail: null,
    truncated: false,
    durationMs: 1234,
  };
  const text = renderPreflight(report, NOW, { color: false });
  for (const expected of [
    "Preflight of export set 2026-11 (exported 09:58:00 UTC) in 1.23 s",
    "users      rows 120 · would import 118",
    "files      rows 300 · would copy 290 · already in d1 12 · deleted on new 2 · bytes declared 1.2 GiB · undeclared size 3",
    "refused    bad rows (files 2) · unsafe path 1",
    "conflicts  none",
    "sample     checked 2 · ok 1 · missing 1 · size mismatch 0 · too large 0 · errors 0",
    "estimate   about 14m 20s for 1.2 GiB at 20 files/s and 5.0 MiB/s (default: 20 files/s, 5 MiB/s (no finished full or delta job yet))",
    "files.csv line 17  unsafe_path  file_path has '..'",
    "sample: files.csv line 9 uploads/b.csv  missing  HTTP 404",
  ]) {
    assert.ok(text.includes(expected), `missing ${JSON.stringify(expected)} in:\n${text}`);
  }
  assert.doesNotMatch(text, /uploads\/a\.csv|would fail|incomplete/);
  const failing = renderPreflight({ ...report, jobWouldFail: { table: "users", error: "line 1: missing column email" }, truncated: { reason: "stopped early" } }, NOW, { color: false });
  assert.match(failing, /‼ a job on this export would fail: users\.csv: line 1: missing column email/);
  assert.match(failing, /‼ incomplete: stopped early/);
  // A report of another shape still shows its numbers.
  assert.match(renderPreflight({ exportSet: "x", newSection: { someCount: 3, waitSeconds: 90 }, total: 7 }, NOW, { color: false }), /new section +some count 3 · wait seconds 1m 30s\n {2}total +7/);
});

/** An export row's text that would clear the screen (ESC [2J), start a C1 CSI sequence and break the line. */
const HOSTILE = "\u001b[2J\u009b31m\n\tgone\u007f";
const SHOWN = "\\x1b[2J\\x9b31m\\x0a\\x09gone\\x7f";
/** C0 (newline included: checked line by line), DEL and C1. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** No raw control character on any line, and the hostile text shown escaped. */
function assertPrintable(text: string): void {
  for (const line of text.split("\n")) assert.doesNotMatch(line, CONTROL, `a raw control character in ${JSON.stringify(line)}`);
  assert.ok(text.includes(SHOWN), `the hostile text is not shown escaped in:\n${text}`);
}

test("a run view's notes, attention, waiting-for and job error are printed with their control characters escaped", async () => {
  const hostile = view({
    state: "paused",
    attention: `copy: ${HOSTILE}`,
    waitingFor: HOSTILE,
    stages: stages({ copy: { state: "failed", startedAt: at("10:00:00"), endedAt: at("10:10:00"), note: HOSTILE } }),
    job: job({ error: HOSTILE }),
  });
  assertPrintable(renderRun(hostile, NOW, { color: false }));
  assertPrintable(renderRun(hostile, NOW, { color: true }).replace(/\x1b\[\d+m/g, ""));
  assertPrintable(compactLine(hostile, NOW));

  const written: string[] = [];
  const failing = new Unreachable(`GET /admin/cutover/run: HTTP 502 ${HOSTILE}`);
  await watch(scripted([failing, hostile]), view(), { write: (t) => written.push(t), tty: false, color: false }, { intervalMs: 1, json: false, until: (v) => v.state !== "running", signal: new AbortController().signal });
  assert.equal(written.length, 3, written.join(""));
  assert.match(written[1]!, /⚠ GET \/admin\/cutover\/run: HTTP 502 /);
  for (const line of written.slice(1)) assertPrintable(line);
});

test("a preflight report's problems, sampled paths and keys are printed with their control characters escaped", () => {
  const report = {
    exportSet: "2026-11",
    files: { rows: 2, [`odd${HOSTILE}`]: 1 },
    problems: [{ table: "files", line: 3, reason: "bad_row", detail: `file_name: ${HOSTILE}` }],
    sample: { checked: 1, ok: 0, missing: 1, items: [{ fileId: "f", line: 4, path: `/app/media/uploads/${HOSTILE}.csv`, outcome: "missing", status: 404, error: HOSTILE }] },
    jobWouldFail: { table: "users", error: HOSTILE },
    truncated: { reason: HOSTILE },
  };
  for (const color of [false, true]) assertPrintable(renderPreflight(report, NOW, { color }).replace(/\x1b\[\d+m/g, ""));
});

test("command lines: what each command reads, and what is refused", () => {
  const env = { LC_WORKER: "https://cutter.example.com", ADMIN_TOKEN: "secret" };
  const start = readOptions(["start", "--export-set", "2026-11", "--steps", "5, 25,50", "--hold", "600", "--max-sync-lag", "900", "--detach"], env);
  assert.notEqual(start, "help");
  if (start === "help") return;
  assert.deepEqual(start.command, { name: "start", detach: true, plan: { exportSet: "2026-11", canary: { steps: [5, 25, 50], holdSeconds: 600, maxSyncLagSeconds: 900 } } });
  assert.equal(start.worker.href, "https://cutter.example.com/");
  assert.equal(start.token, "secret");
  assert.equal(start.intervalMs, 2000);
  const status = readOptions(["status", "--watch", "--interval", "0.5", "--worker", "http://localhost:8787", "--token", "t"], {});
  assert.ok(status !== "help" && status.command.name === "status" && status.command.watch && status.intervalMs === 500 && status.worker.port === "8787");
  assert.equal(readOptions(["--help"], {}), "help");

  const refused: [string[], RegExp][] = [
    [[], /a command is required/],
    [["launch"], /unknown command "launch"/],
    [["status", "now"], /unexpected argument "now"/],
    [["status", "--bogus"], /Unknown option '--bogus'/],
    [["pause", "--stage", "copy"], /--stage does not apply to pause/],
    [["skip", "--stage", "canary"], /skip needs --reason/],
    [["start", "--export-set", "s", "--steps", "5,x", "--hold", "60"], /--steps must be percentages/],
    [["start", "--export-set", "s", "--steps", "5"], /start needs --plan <file>, or --export-set, --steps and --hold/],
    [["start", "--plan", "/nonexistent/plan.json"], /--plan \/nonexistent\/plan\.json: ENOENT/],
    [["start", "--plan", "p.json", "--hold", "5"], /--plan and --hold do not go together/],
    [["status", "--interval", "0"], /--interval must be a number of seconds from 0.5 to 3600/],
    [["status", "--worker", "http://cutter.example.com"], /must be an https:\/\/ URL/],
    [["preflight", "--export-set", "s", "--sample", "201"], /--sample must be a whole number from 0 to 200/],
  ];
  for (const [argv, message] of refused) {
    assert.throws(() => readOptions(argv, env), (e: unknown) => e instanceof UsageError && message.test(e.message), `argv ${JSON.stringify(argv)}`);
  }
  assert.throws(() => readOptions(["status"], {}), /--worker \(or LC_WORKER\) is required/);
  assert.throws(() => readOptions(["status", "--worker", "https://x.example"], {}), /--token \(or, better, ADMIN_TOKEN\) is required/);
});

test("a bad command line exits 2 with the usage, before any request", () => {
  const run = spawnSync(join(root, "node_modules/.bin/node"), [join(root, "scripts/cutover.ts"), "skip", "--stage", "copy", "--worker", "http://127.0.0.1:9", "--token", "t"], { cwd: root, encoding: "utf8", timeout: 30_000 });
  assert.equal(run.status, 2, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stderr, /^✖ skip needs --reason: it is kept in the audit log\n\nusage: npm run cutover -- <command>/);
  assert.equal(run.stdout, "");
});
