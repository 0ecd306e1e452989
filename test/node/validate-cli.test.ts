// npm run validate against the real Worker under `wrangler dev` (./stack.ts): exit 1 with a failing
// report while nothing is migrated, 0 once the corpus is; 2 for usage errors and for a Worker that
// cannot be reached or refuses the token.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { validationReportSchema } from "../../src/validation/report.ts";
import { STACK_ADMIN_TOKEN, startStack } from "./stack.ts";

const PORT = 8800;
const root = new URL("../..", import.meta.url).pathname;
/** No token or Worker in the environment unless a run passes one. */
const { ADMIN_TOKEN: _token, LC_WORKER: _worker, ...baseEnv } = process.env;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI as a child process (asynchronously: the fixture origin serves from this process). */
function validate(args: string[], env: NodeJS.ProcessEnv = baseEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, "scripts/validate.ts"), ...args], { cwd: root, env, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : null) : 0, stdout, stderr });
    });
  });
}

const show = (run: Run) => `exit ${run.code}\nstderr:\n${run.stderr}\nstdout:\n${run.stdout.slice(0, 2000)}`;

test("usage errors exit 2 before anything is sent", async () => {
  for (const args of [
    ["--worker", "http://validate.example", "--token", "t"],
    ["--worker", "not a url", "--token", "t"],
    ["--worker", "https://validate.example"],
    ["--worker", "https://validate.example", "--token", "t", "--sample", "0"],
    ["--worker", "https://validate.example", "--token", "t", "--export-set", "../x"],
    ["--token", "t"],
  ]) {
    const run = await validate(args);
    assert.equal(run.code, 2, `${args.join(" ")}: ${show(run)}`);
    assert.match(run.stderr, /^✖ .*\n\nusage: npm run validate/, show(run));
  }
  assert.match((await validate(["--token", "t"])).stderr, /^✖ --worker \(or LC_WORKER\) is required\n/);
  // The Worker from LC_WORKER, as the cutover CLI takes it.
  const unreachable = await validate(["--token", "t"], { ...baseEnv, LC_WORKER: `http://127.0.0.1:${PORT}` });
  assert.equal(unreachable.code, 2, show(unreachable));
  assert.match(unreachable.stderr, /✖ no report: POST http:\/\/127\.0\.0\.1:8800\/admin\/validate: fetch failed/);
});

test("exit 1 with a failing report while nothing is migrated; exit 0 once the corpus is", { timeout: 120_000 }, async () => {
  const stack = await startStack(PORT, { PASSWORD_ITERATIONS: "20000" });
  const base = stack.worker.url;
  const admin = (method: string, path: string, body?: string) => fetch(`${base}/admin${path}`, { method, headers: { authorization: `Bearer ${STACK_ADMIN_TOKEN}` }, body });
  const dir = mkdtempSync(join(tmpdir(), "validate-cli-"));
  try {
    const refused = await validate(["--worker", base, "--token", "wrong-token"]);
    assert.equal(refused.code, 2, show(refused));
    assert.match(refused.stderr, /✖ no report: POST .*\/admin\/validate: HTTP 401/);

    // Nothing migrated: the canary and the cut pass; the sampled legacy users and files, and the export, do not.
    const empty = await validate(["--sample", "2"], { ...baseEnv, LC_WORKER: base, ADMIN_TOKEN: STACK_ADMIN_TOKEN });
    assert.equal(empty.code, 1, show(empty));
    const failing = validationReportSchema.parse(JSON.parse(empty.stdout));
    assert.equal(failing.ok, false);
    assert.deepEqual(failing.checks.filter((c) => !c.ok).map((c) => `${c.group}/${c.name}`), ["authentication/legacy-tokens", "files/app-download", "files/legacy-origin", "integrity/export-rows"]);
    assert.match(empty.stderr, /^✔ authentication\/canary-account .* ms  registered lc-validate-\d{14}-[0-9a-f]{4}/m);
    assert.match(empty.stderr, /^✖ authentication\/legacy-tokens .* no active migrated user in D1/m);
    assert.match(empty.stderr, /^summary: validation failed: 4 of 7 checks \(sample 2, export set none, /m);

    for (const table of ["users", "files", "filters"]) {
      const res = await admin("PUT", `/exports/cli/${table}`, await (await fetch(`${stack.origin.url}/__exports/${table}.csv`)).text());
      assert.equal(res.status, 201, `PUT ${table}: ${await res.text()}`);
    }
    const job = (await (await admin("POST", "/jobs", JSON.stringify({ kind: "full", exportSet: "cli" }))).json()) as { id: string };
    let state = "";
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && !["completed", "completed_with_failures", "failed"].includes(state); await sleep(250)) {
      state = ((await (await admin("GET", `/jobs/${job.id}`)).json()) as { state: string }).state;
    }
    assert.equal(state, "completed");

    const out = join(dir, "report.json");
    const passing = await validate(["--worker", `${base}/`, "--token", STACK_ADMIN_TOKEN, "--sample", "3", "--out", out]);
    assert.equal(passing.code, 0, show(passing));
    assert.equal(passing.stdout, "");
    const report = validationReportSchema.parse(JSON.parse(readFileSync(out, "utf8")));
    assert.equal(report.ok, true);
    assert.equal(report.exportSet, "cli");
    assert.match(passing.stderr, /^summary: validation passed \(sample 3, export set cli, /m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await stack.stop();
  }
});
