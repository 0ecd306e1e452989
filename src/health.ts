import type { Env } from "./env";
import { coordinator } from "./env";
import { jsonResponse } from "./lib/http";

type Check = "ok" | "error";

/** GET /health (public): can we reach D1, R2 and the coordinator? */
export async function health(env: Env): Promise<Response> {
  const probe = async (fn: () => Promise<unknown>): Promise<Check> => {
    try {
      await fn();
      return "ok";
    } catch {
      return "error";
    }
  };
  const [d1, r2, coord] = await Promise.all([
    probe(() => env.DB.prepare("SELECT 1").first()),
    probe(() => env.FILES.head("health-probe")),
    probe(() => coordinator(env).listJobs(1)),
  ]);
  const checks = { d1, r2, coordinator: coord };
  const failing = Object.values(checks).filter((c) => c !== "ok").length;
  const status = failing === 0 ? "healthy" : d1 === "ok" && r2 === "ok" ? "degraded" : "unhealthy";
  return jsonResponse({ status, checks }, status === "unhealthy" ? 503 : 200);
}
