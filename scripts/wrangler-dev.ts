import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A `wrangler dev` of this project on 127.0.0.1, with its own fresh local state. */
export interface DevWorker {
  url: string;
  process: ChildProcess;
  /** The local state directory (D1, R2, DO storage), for `wrangler d1 execute --persist-to`. */
  state: string;
  stop(): Promise<void>;
}

const root = new URL("..", import.meta.url).pathname;

export interface DevOptions {
  /** Another wrangler config (relative to the project root) than the project's; no D1 migrations are applied for it unless `migrate`. */
  config?: string;
  migrate?: boolean;
  /** Opens the Worker's V8 inspector on this port (bench/memory.ts reads the JS heap through it). */
  inspectorPort?: number;
  timeoutMs?: number;
  /**
   * wrangler dev's local trace collector (on by default: it records every span of every Worker into a
   * local store, on workerd's thread). The benches turn it off: production's tracing does not run in
   * the Worker's process.
   */
  localTracing?: boolean;
}

export async function startWranglerDev(port: number, vars: Record<string, string>, { config, migrate: migrateOther = false, inspectorPort, timeoutMs = 60_000, localTracing = true }: DevOptions = {}): Promise<DevWorker> {
  // Another Worker still on the port would answer for this one (a run killed before it could stop its own).
  const taken = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2_000) }).then(
    () => true,
    (e: Error) => e.name === "TimeoutError",
  );
  if (taken) throw new Error(`port ${port} is already in use: stop what runs there first (pkill -f "wrangler dev")`);
  const state = mkdtempSync(join(tmpdir(), "list-cutter-dev-"));
  if (!config || migrateOther) {
    const migrate = spawnSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", state, ...(config ? ["--config", config] : [])], { cwd: root, encoding: "utf8", env: { ...process.env, CI: "true" } });
    if (migrate.status !== 0) throw new Error(`D1 migrations failed:\n${migrate.stdout}\n${migrate.stderr}`);
  }
  const args = ["wrangler", "dev", ...(config ? ["--config", config] : []), "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state, "--show-interactive-dev-session=false", "--log-level", process.env.WRANGLER_DEV_LOG ? "log" : "warn"];
  for (const [key, value] of Object.entries(vars)) args.push("--var", `${key}:${value}`);
  if (inspectorPort !== undefined) args.push("--inspector-port", String(inspectorPort));
  const child = spawn("npx", args, { cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: "false", ...(localTracing ? {} : { X_LOCAL_OBSERVABILITY: "false" }) }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  // WRANGLER_DEV_LOG=<file> keeps the Worker's own output (console.error of the consumer, etc.).
  const log = process.env.WRANGLER_DEV_LOG ? createWriteStream(process.env.WRANGLER_DEV_LOG) : null;
  const keep = (d: Buffer) => {
    output = (output + d).slice(-64 * 1024);
    log?.write(d);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopGroup(child.pid!);
    rmSync(state, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited (${child.exitCode}):\n${output}`);
    let misconfigured: string | null = null;
    try {
      // A Worker that failed to build never answers: each try gives up, so the deadline holds.
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) });
      if (res.ok) return { url, process: child, state, stop };
      const body = await res.text();
      if (body.includes("is not set")) misconfigured = body;
    } catch {
      // not listening yet
    }
    if (misconfigured) {
      await stop();
      throw new Error(`wrangler dev is up but misconfigured (pass the secrets as vars): ${misconfigured}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`wrangler dev did not become healthy within ${timeoutMs} ms:\n${output}`);
}

/** Ends a whole process group (npx, wrangler, workerd), waiting until none of it is left. */
async function stopGroup(pgid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const [signal, waitMs] of [["SIGTERM", 10_000], ["SIGKILL", 5_000]] as const) {
    if (!alive()) return;
    process.kill(-pgid, signal);
    const deadline = Date.now() + waitMs;
    while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  }
}
