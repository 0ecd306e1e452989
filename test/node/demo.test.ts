// Runs `npm run demo` (the real script, on a small corpus) the way a newcomer would, end to end.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

const root = new URL("../..", import.meta.url).pathname;

test("npm run demo migrates, verifies and moves traffic, then stops everything", { timeout: 240_000 }, () => {
  const run = spawnSync(process.execPath, ["scripts/demo.ts"], { cwd: root, encoding: "utf8", env: { ...process.env, DEMO_FILES: "40", DEMO_PORT: "8799" }, timeout: 230_000 });
  const output = `${run.stdout}\n${run.stderr}`;
  assert.equal(run.status, 0, output);
  assert.match(output, /job completed: 45 files, 25 users, 5 filters migrated/);
  assert.match(output, /verify completed: 45 objects re-read/);
  assert.match(output, /at 0 %: \{"legacy":12\}/);
  assert.match(output, /at 25 %: \{"workers":\d+,"legacy":\d+\}|at 25 %: \{"legacy":\d+,"workers":\d+\}/);
  assert.match(output, /at 100 %: \{"workers":12\}/);
  assert.match(output, /user1: logged in \(X-Served-By: workers\), \d+ files listed/);
  // Nothing it started is left running.
  const leftovers = spawnSync("pgrep", ["-f", "wrangler dev --ip 127.0.0.1 --port 8799"], { encoding: "utf8" });
  assert.equal(leftovers.stdout.trim(), "", "wrangler dev is still running");
});

test("npm run demo exits non-zero when a step fails", { timeout: 120_000 }, () => {
  // A port nothing listens on for the Worker to be reachable at is not possible to fake; an
  // unusable corpus size is: generation fails before anything starts.
  const run = spawnSync(process.execPath, ["scripts/demo.ts"], { cwd: root, encoding: "utf8", env: { ...process.env, DEMO_FILES: "-5", DEMO_PORT: "8798" }, timeout: 110_000 });
  assert.notEqual(run.status, 0);
  assert.match(`${run.stdout}${run.stderr}`, /demo failed/);
});
