import type { Env } from "../env";
import { coordinator } from "../env";
import { errorResponse } from "../lib/http";
import { stickyIdentity } from "./bucket";
import { maintenanceResponse } from "./maintenance";
import { MetricsBuffer } from "./metrics-buffer";
import type { Backend } from "./metrics-model";
import { proxyToLegacy } from "./proxy";
import { chooseBackend } from "./split";
import { cacheTtlMs, CutoverStateCache } from "./state-cache";

export type Handler = (request: Request, env: Env, ctx: ExecutionContext) => Promise<Response>;

const STARTING_UP = { enabled: true, message: "List Cutter is starting up. Please try again in a few seconds.", retryAfterSeconds: 5 };

/**
 * The cutover gate in front of every app request: maintenance, the sticky split between the new
 * app and the legacy origin, and request metrics. It reads state from its cache, never from the
 * coordinator per request.
 */
export class Gate {
  constructor(
    readonly cache: CutoverStateCache,
    readonly metrics: MetricsBuffer,
    private readonly app: Handler,
  ) {}

  async handle(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const { state } = await this.cache.get(ctx);
    // An isolate that has never read the state fails closed: during the final sync, a write let
    // through to legacy would be lost.
    if (!state) return servedBy(maintenanceResponse(request, STARTING_UP), "workers");
    // Maintenance answers are deliberate, not the new backend's errors: they are not measured.
    if (state.maintenance.enabled) return servedBy(maintenanceResponse(request, state.maintenance), "workers");
    const who = stickyIdentity(request);
    const backend = chooseBackend(state, who);
    const started = Date.now();
    let response: Response;
    try {
      response = backend === "workers" ? await this.app(request, env, ctx) : await proxyToLegacy(request, env.LEGACY_ORIGIN);
    } catch (e) {
      console.error(`${backend} backend failed:`, e);
      response = errorResponse(500, "internal error");
    }
    const hasBody = request.body !== null && request.headers.get("content-length") !== "0";
    this.metrics.record({ backend, version: state.version, status: response.status, ms: Date.now() - started, ip: who.ip, stickyHash: who.hash, hasBody });
    const batch = this.metrics.takeIfDue();
    if (batch) {
      ctx.waitUntil(
        coordinator(env)
          .recordMetrics(batch)
          .catch((e) => {
            console.error("metrics flush failed; kept for the next one:", e);
            this.metrics.restore(batch);
          }),
      );
    }
    const out = servedBy(response, backend);
    if (who.setCookie) out.headers.append("set-cookie", who.setCookie);
    return out;
  }
}

/** Marks which side served a response (a mutable copy: fetched responses have frozen headers). */
export function servedBy(response: Response, backend: Backend): Response {
  const out = new Response(response.body, response);
  out.headers.set("x-served-by", backend);
  return out;
}

let sharedCache: CutoverStateCache | null = null;
let shared: Gate | null = null;

/** This isolate's copy of the cutover state (the gate's, and /health's). */
export function isolateCutoverCache(env: Env): CutoverStateCache {
  sharedCache ??= new CutoverStateCache(() => coordinator(env).getCutover(), cacheTtlMs(env));
  return sharedCache;
}

/** This isolate's gate: one state cache and one metrics buffer shared by all its requests. */
export function sharedGate(env: Env, app: Handler): Gate {
  shared ??= new Gate(isolateCutoverCache(env), new MetricsBuffer(), app);
  return shared;
}
