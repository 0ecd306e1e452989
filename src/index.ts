import { handleAlertBatch, handleDeadAlerts } from "./alerts/delivery";
import type { Env } from "./env";
import { adminRouter } from "./admin/router";
import { app } from "./app";
import { handleCopyBatch } from "./copy/consumer";
import { servedBy, sharedGate } from "./cutover/gate";
import { sweepScratch } from "./app/scratch-sweep";
import { dashboard } from "./dashboard";
import { health } from "./health";
import { errorResponse, HttpError } from "./lib/http";

export { MigrationCoordinator } from "./coordinator/coordinator";
export { AttemptLimiter } from "./app/attempt-limiter";
export { GateRelay } from "./relay/gate-relay";

/** Paths the Worker always serves itself, whatever the cutover state: health, operator API, dashboard. */
async function ownRoute(request: Request, env: Env, ctx: ExecutionContext): Promise<Response | null> {
  const { pathname } = new URL(request.url);
  if (pathname === "/health") return health(env, ctx);
  if (pathname === "/admin" || pathname.startsWith("/admin/")) return adminRouter.fetch(request, env, ctx);
  return dashboard(request, pathname);
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    try {
      const own = await ownRoute(request, env, ctx);
      if (own) return servedBy(own, "workers");
      if (env.CUTOVER_GATE === "off") return servedBy(await app(request, env, ctx), "workers");
      return await sharedGate(env, app).handle(request, env, ctx);
    } catch (e) {
      if (e instanceof HttpError) return servedBy(errorResponse(e.status, e.message, e.field), "workers");
      console.error("unhandled error:", e);
      return servedBy(errorResponse(500, "internal error"), "workers");
    }
  },

  async queue(batch, env): Promise<void> {
    // Queue names carry the environment (alert-deliveries-staging…): matched by prefix and suffix.
    if (batch.queue.startsWith("alert-deliveries")) {
      await (batch.queue.endsWith("-dlq") ? handleDeadAlerts(batch, env) : handleAlertBatch(batch, env));
      return;
    }
    await handleCopyBatch(batch, env);
  },

  async scheduled(_controller, env, ctx): Promise<void> {
    ctx.waitUntil(sweepScratch(env).then((swept) => console.log("scratch sweep:", swept)));
  },
} satisfies ExportedHandler<Env>;
