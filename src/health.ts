import type { Env } from "./env";
import { configProblems } from "./config-check";
import { isolateCutoverCache } from "./cutover/gate";
import type { CutoverStateCache } from "./cutover/state-cache";
import { jsonResponse } from "./lib/http";

type Check = "ok" | "error";

/** /health is public: its storage probes run at most this often per isolate, whatever the request rate. */
const PROBE_EVERY_MS = 5_000;
let probed: { at: number; d1: Check; r2: Check } | null = null;

async function probe(fn: () => Promise<unknown>): Promise<Check> {
  try {
    await fn();
    return "ok";
  } catch {
    return "error";
  }
}

/**
 * GET /health (public): can we reach D1 and R2, is the configuration complete, and is this
 * isolate's cutover state fresh? The coordinator is reached only through the isolate's state cache
 * (at most one read per TTL, whatever the request rate), and a stale state (the coordinator could not be read; the last known one is
 * in force) makes the Worker degraded, not unhealthy. Missing secrets make it unhealthy.
 */
export async function health(env: Env, ctx?: ExecutionContext, cutoverCache: CutoverStateCache = isolateCutoverCache(env)): Promise<Response> {
  const now = Date.now();
  if (!probed || now - probed.at >= PROBE_EVERY_MS) {
    const [d1, r2] = await Promise.all([probe(() => env.DB.prepare("SELECT 1").first()), probe(() => env.FILES.head("health-probe"))]);
    probed = { at: now, d1, r2 };
  }
  const { d1, r2 } = probed;
  const cutover = await cutoverCache.get(ctx);
  const { blocking, degraded } = configProblems(env);
  const cutoverState = cutover.state === null ? "unknown" : cutover.stale ? "stale" : "ok";
  // The coordinator as this isolate's last state read found it (no call of its own).
  const coordinatorCheck = cutover.stale ? "error" : cutover.state === null ? "unknown" : "ok";
  const checks = { d1, r2, coordinator: coordinatorCheck, config: [...blocking, ...degraded].join("; ") || "ok", cutoverState };
  const status = d1 !== "ok" || r2 !== "ok" || blocking.length > 0 ? "unhealthy" : cutoverState !== "ok" || degraded.length > 0 ? "degraded" : "healthy";
  const state = cutover.state;
  return jsonResponse(
    { status, checks, cutover: state && { version: state.version, phase: state.phase, percent: state.percent, readAt: cutover.readAt && new Date(cutover.readAt).toISOString() } },
    status === "unhealthy" ? 503 : 200,
  );
}
