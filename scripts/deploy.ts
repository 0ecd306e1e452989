// npm run deploy -- --env staging|production [--dry-run]
//
// Deploys the Worker to one environment of wrangler.toml: checks that its secrets exist, applies the
// D1 migrations remotely, deploys, and prints the version. --dry-run builds the bundle exactly as a
// deploy would (`wrangler deploy --dry-run --outdir`) and reports what a deploy would do, without
// any account access: CI runs it for both environments.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const ENVIRONMENTS = ["staging", "production"] as const;
/** Secrets a deployment needs (src/env.ts); without LEGACY_JWT_SECRET legacy tokens are refused. */
const REQUIRED_SECRETS = ["ADMIN_TOKEN", "JWT_SECRET"];
const CANARY_SECRETS = ["LEGACY_JWT_SECRET"];

const root = new URL("..", import.meta.url).pathname;
const USAGE = "usage: npm run deploy -- --env staging|production [--dry-run]";

function fail(message: string, code = 1): never {
  console.error(message);
  process.exit(code);
}

function wrangler(args: string[], capture = false): { status: number; stdout: string } {
  const result = spawnSync(process.execPath, [join(root, "node_modules/wrangler/bin/wrangler.js"), ...args], {
    cwd: root,
    encoding: "utf8",
    stdio: capture ? ["ignore", "pipe", "inherit"] : "inherit",
    timeout: 10 * 60_000,
  });
  return { status: result.status ?? 1, stdout: result.stdout ?? "" };
}

function migrations(): string[] {
  return readdirSync(join(root, "migrations")).filter((f) => f.endsWith(".sql")).sort();
}

function dryRun(env: string): void {
  const outdir = mkdtempSync(join(tmpdir(), `deploy-${env}-`));
  try {
    console.log(`dry run for ${env}: building the bundle as a deploy would (no account is contacted)`);
    if (wrangler(["deploy", "--dry-run", "--outdir", outdir, "--env", env]).status !== 0) fail(`the ${env} bundle did not build`);
    const files = readdirSync(outdir).map((f) => ({ name: f, bytes: statSync(join(outdir, f)).size }));
    const total = files.reduce((n, f) => n + f.bytes, 0);
    console.log(`bundle: ${files.length} file(s), ${(total / 1024).toFixed(1)} KiB (${files.map((f) => f.name).join(", ")})`);
    console.log(`a deploy would: check the secrets ${REQUIRED_SECRETS.join(", ")} (required) and ${CANARY_SECRETS.join(", ")} (for the canary) exist in ${env};`);
    console.log(`  apply the D1 migrations not yet applied remotely, of: ${migrations().join(", ")};`);
    console.log(`  deploy this bundle with the web app's assets (web/dist) to ${env} and print its version.`);
    console.log(`summary: dry run of ${env} succeeded; nothing was changed`);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function deploy(env: string): void {
  const listed = wrangler(["secret", "list", "--env", env, "--format", "json"], true);
  if (listed.status !== 0) fail(`could not list the secrets of ${env} (is wrangler logged in?)`);
  const present = new Set((JSON.parse(listed.stdout) as { name: string }[]).map((s) => s.name));
  const missing = REQUIRED_SECRETS.filter((s) => !present.has(s));
  if (missing.length > 0) fail(`${env} lacks the secret(s) ${missing.join(", ")}: wrangler secret put <NAME> --env ${env}`);
  for (const s of CANARY_SECRETS.filter((s) => !present.has(s))) console.warn(`warning: ${env} has no ${s}: legacy tokens will be refused`);
  if (wrangler(["d1", "migrations", "apply", "DB", "--remote", "--env", env]).status !== 0) fail(`the D1 migrations of ${env} failed; nothing was deployed`);
  const deployed = wrangler(["deploy", "--env", env], true);
  process.stdout.write(deployed.stdout);
  if (deployed.status !== 0) fail(`the deploy of ${env} failed`);
  const version = /Current Version ID:\s*(\S+)/.exec(deployed.stdout)?.[1] ?? "(not reported)";
  console.log(`summary: ${env} deployed, version ${version}`);
}

function main(): void {
  let values: { env?: string; "dry-run"?: boolean };
  try {
    ({ values } = parseArgs({ options: { env: { type: "string" }, "dry-run": { type: "boolean" } }, strict: true }));
  } catch (e) {
    fail(`${(e as Error).message}\n${USAGE}`, 2);
  }
  const env = values.env;
  if (!env || !(ENVIRONMENTS as readonly string[]).includes(env)) fail(`--env must be one of ${ENVIRONMENTS.join(", ")}\n${USAGE}`, 2);
  // The web app's assets ship with the code that serves them: built fresh for every deploy.
  const built = spawnSync(process.execPath, [join(root, "scripts/build-web.ts")], { cwd: root, stdio: "inherit" });
  if (built.status !== 0) fail("the web app did not build; nothing was deployed");
  if (values["dry-run"]) dryRun(env);
  else deploy(env);
}

main();
