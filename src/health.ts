import type { Env } from "./env";
import { coordinator } from "./env";
import { app } from "./app";
import { sharedGate } from "./cutover/gate";
import { jsonResponse } from "./lib/http";

type Check = "ok" | "error";

/**
 * GET /health (public): can we reach D1, R2 and the coordinator, and is this isolate's cutover
 * state fresh? A stale state (the coordinator could not be read; the last known one is in force)
 * makes the Worker degraded, not unhealthy: it keeps serving.
 */
export async function health(env: Env, cutoverCache = sharedGate(env, app).cache): Promise<Response> {
  const probe = async (fn: () => Promise<unknown>): Promise<Check> => {
    try {
      await fn();
      return "ok";
    } catch {
      return "error";
    }
  };
  const [d1, r2, coord, cutover] = await Promise.all([
    probe(() => env.DB.prepare("SELECT 1").first()),
    probe(() => env.FILES.head("health-probe")),
    probe(() => coordinator(env).listJobs(1)),
    cutoverCache.get(),
  ]);
  const checks = { d1, r2, coordinator: coord, cutoverState: cutover.stale ? "stale" : "ok" };
  const status = d1 !== "ok" || r2 !== "ok" ? "unhealthy" : coord !== "ok" || cutover.stale ? "degraded" : "healthy";
  return jsonResponse(
    { status, checks, cutover: { version: cutover.state.version, phase: cutover.state.phase, percent: cutover.state.percent, readAt: cutover.readAt && new Date(cutover.readAt).toISOString() } },
    status === "unhealthy" ? 503 : 200,
  );
}
