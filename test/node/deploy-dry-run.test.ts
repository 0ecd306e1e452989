// npm run deploy -- --dry-run builds each environment's bundle and reports what a deploy would do,
// with no account: a Cloudflare API call would fail here (bogus token, a proxy that refuses).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";

const root = new URL("../..", import.meta.url).pathname;
const offline = { ...process.env, CLOUDFLARE_API_TOKEN: "not-a-real-token", CLOUDFLARE_ACCOUNT_ID: "00000000000000000000000000000000", HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9", WRANGLER_SEND_METRICS: "false" };

function deploy(args: string[]) {
  const run = spawnSync(process.execPath, [join(root, "scripts/deploy.ts"), ...args], { cwd: root, env: offline, encoding: "utf8", timeout: 180_000 });
  return { code: run.status, out: `${run.stdout}\n${run.stderr}` };
}

for (const env of ["staging", "production"]) {
  test(`the ${env} dry run builds the bundle and changes nothing, without an account`, { timeout: 200_000 }, () => {
    const run = deploy(["--env", env, "--dry-run"]);
    assert.equal(run.code, 0, run.out);
    assert.match(run.out, /bundle: \d+ file\(s\), \d+\.\d KiB/);
    assert.match(run.out, /0004_outbox\.sql/);
    assert.match(run.out, new RegExp(`summary: dry run of ${env} succeeded; nothing was changed`));
  });
}

test("an unknown environment or option is a usage error (exit 2)", () => {
  assert.equal(deploy(["--env", "nowhere", "--dry-run"]).code, 2);
  assert.equal(deploy(["--envv", "staging"]).code, 2);
});

test("production is served by its route only: no workers.dev address, no preview URLs; logs are kept", () => {
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
  const production = toml.slice(toml.indexOf("[env.production]"));
  assert.match(production.split(/\n\[(?!env\.production)/)[0]!, /^workers_dev = false$/m);
  assert.match(production, /^preview_urls = false$/m);
  assert.match(toml, /^\[observability\]\nenabled = true$/m);
});
