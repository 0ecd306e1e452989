import type { Env } from "./env";
import { adminRouter } from "./admin/router";
import { dashboard } from "./dashboard";
import { handleCopyBatch } from "./copy/consumer";
import { health } from "./health";
import { errorResponse, HttpError } from "./lib/http";

export { MigrationCoordinator } from "./coordinator/coordinator";

async function route(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (pathname === "/health") return health(env);
  const page = dashboard(pathname);
  if (page) return page;
  if (pathname === "/admin" || pathname.startsWith("/admin/")) return adminRouter.fetch(request, env, ctx);
  return errorResponse(404, "not found");
}

export default {
  async fetch(request, env, ctx): Promise<Response> {
    try {
      return await route(request, env, ctx);
    } catch (e) {
      if (e instanceof HttpError) return errorResponse(e.status, e.message, e.field);
      console.error("unhandled error:", e);
      return errorResponse(500, "internal error");
    }
  },

  async queue(batch, env): Promise<void> {
    await handleCopyBatch(batch, env);
  },
} satisfies ExportedHandler<Env>;
