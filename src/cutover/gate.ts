import { isPagePath } from "../app/pages";
import type { Env } from "../env";
import { controlPlane, type ControlPlane } from "../relay/control-plane";
import { errorResponse, HttpError } from "../lib/http";
import { verifyJwt } from "../lib/jwt";
import { createdByNewApp } from "../lib/d1";
import { writeRequestSamples } from "../metrics/analytics";
import { CookieSigner } from "./bucket";
import { identify, type Identified, type StickyIdentity } from "./identity";
import { maintenanceResponse } from "./maintenance";
import { MetricsBuffer } from "./metrics-buffer";
import type { Backend } from "./metrics-model";
import { proxyToLegacy } from "./proxy";
import { chooseBackend } from "./split";
import type { CutoverState } from "./state";
import { cacheTtlMs, CutoverStateCache } from "./state-cache";
import { UserDirectory } from "./user-directory";

export type Handler = (request: Request, env: Env, ctx: ExecutionContext) => Promise<Response>;

const STARTING_UP = { enabled: true, message: "List Cutter is starting up. Please try again in a few seconds.", retryAfterSeconds: 5 };

/** An isolate serving a state it last read STALE_AFTER_TTLS cache TTLs ago says so, at most once a STALE_REPORT_MS. */
const STALE_AFTER_TTLS = 5;
const STALE_REPORT_MS = 60_000;

/**
 * The cutover gate in front of every app request: maintenance, the sticky split between the new
 * app and the legacy origin, and request metrics. It reads state from its cache, never from the
 * coordinator per request.
 */
export class Gate {
  constructor(
    readonly cache: CutoverStateCache,
    readonly metrics: MetricsBuffer,
    private readonly users: UserDirectory,
    private readonly app: Handler,
    /** Where the metrics go; by default this isolate's relay (tests of the analysis pass the coordinator itself). */
    private readonly plane: ControlPlane | null = null,
  ) {}

  #signer: CookieSigner | null = null;

  /** When this isolate last reported serving a stale state (alerts: gate.stale). */
  #staleReportedAt = -Infinity;

  async handle(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const { state, stale, readAt } = await this.cache.get(ctx);
    if (stale && readAt !== null) this.#reportStale(env, ctx, readAt);
    // An isolate that has never read the state fails closed: during the final sync, a write let
    // through to legacy would be lost.
    if (!state) return servedBy(maintenanceResponse(request, STARTING_UP), "workers");
    // Maintenance answers are deliberate, not the new backend's errors: they are not measured.
    if (state.maintenance.enabled) return servedBy(maintenanceResponse(request, state.maintenance), "workers");
    this.#signer ??= new CookieSigner(env.JWT_SECRET);
    let identified: Identified;
    try {
      identified = await identify(request, this.users, this.#signer);
    } catch (e) {
      // A login or refresh body the gate could not attribute to a user: answered here, on neither side.
      if (e instanceof HttpError) return servedBy(errorResponse(e.status, e.message, e.field), "workers");
      throw e;
    }
    const { who, request: forwarded, body } = identified;
    let backend = await this.#side(state, who, env);
    const started = Date.now();
    let response: Response;
    try {
      response = backend === "workers" ? await this.app(forwarded, env, ctx) : await proxyToLegacy(forwarded, env.LEGACY_ORIGIN);
      // A username held by a user the new app created may also name a legacy user who registered it
      // there before the next sync (a conflict the operator resolves): their password is legacy's.
      if (backend === "workers" && response.status === 401 && who.source === "login" && createdByNewApp(who.userId!) && state.phase !== "complete") {
        await response.body?.cancel();
        backend = "legacy";
        response = await proxyToLegacy(new Request(request, { body }), env.LEGACY_ORIGIN);
      }
    } catch (e) {
      console.error(`${backend} backend failed:`, e);
      response = errorResponse(500, "internal error");
    }
    const hasBody = request.body !== null && request.headers.get("content-length") !== "0";
    // The analysis judges the new app's API, which users' data goes through: its pages' quick static answers would dilute the error rate and latency.
    const judged = backend === "legacy" || !isPagePath(new URL(request.url).pathname);
    this.metrics.record({ backend, version: state.version, status: response.status, ms: Date.now() - started, ip: who.ip, stickyHash: who.hash, hasBody, judged });
    const batch = this.metrics.takeIfDue();
    if (batch) {
      ctx.waitUntil(
        (this.plane ?? isolateControlPlane(env)).sendMetrics(batch).then(
          // Written once delivered: a batch that is not goes with the next one, and is written with it.
          () => writeRequestSamples(env.ANALYTICS, batch),
          (e) => {
            console.error("metrics flush failed; kept for the next one:", e);
            this.metrics.restore(batch);
          },
        ),
      );
    }
    const out = servedBy(response, backend);
    if (who.setCookie && (!who.cookieOnSuccess || response.ok)) out.headers.append("set-cookie", who.setCookie);
    return out;
  }

  /**
   * Tells the alerts that this isolate serves a state it could not refresh: through the alert queue,
   * since the coordinator (or its relay) is what it cannot reach. At most once a STALE_REPORT_MS, in
   * the background: the request does not wait for it.
   */
  #reportStale(env: Env, ctx: ExecutionContext, readAt: number): void {
    const now = Date.now();
    // One failed read is not worth a page: the state must have gone unrefreshed for several TTLs.
    if (now - readAt < STALE_AFTER_TTLS * cacheTtlMs(env) || now - this.#staleReportedAt < STALE_REPORT_MS) return;
    this.#staleReportedAt = now;
    ctx.waitUntil(env.ALERT_QUEUE.send({ signal: "gate.stale", at: now }, { contentType: "json" }).catch((e) => console.error("could not report a stale cutover state:", e)));
  }

  /**
   * The side that serves `who`: the split's (#split), except that after a rollback a user with
   * new-app writes legacy has not received yet (CutoverState.holdBack) stays on the new app.
   */
  async #side(state: CutoverState, who: StickyIdentity, env: Env): Promise<Backend> {
    // Whether the claim may cost a D1 read: checked at most once per request, and only if needed.
    let genuine: Promise<boolean> | null = null;
    const proven = () => (genuine ??= who.token === null ? Promise.resolve(true) : signedByEitherSide(who.token, env));
    const backend = await this.#split(state, who, proven);
    if (backend === "workers" || !state.holdBack || who.userId === null || state.phase === "complete") return backend;
    // After a rollback: a user whose new-app writes legacy has not received yet stays where they are.
    if (!(await proven())) return backend;
    try {
      return (await this.users.wroteAfter(who.userId, state.holdBack.afterSeq)) ? "workers" : backend;
    } catch (e) {
      // Legacy has never heard of a user the new app created: they at least can only be served there.
      console.error("outbox lookup failed:", e);
      return createdByNewApp(who.userId) ? "workers" : backend;
    }
  }

  /**
   * The split's answer, except that a legacy user the new app does not hold (not imported yet) stays
   * on legacy. D1 is asked only about users a login's username, a signed cookie or a token signed
   * with either side's secret names, so that forged claims cannot make every request a D1 read.
   */
  async #split(state: CutoverState, who: StickyIdentity, proven: () => Promise<boolean>): Promise<Backend> {
    const backend = chooseBackend(state, who);
    if (backend === "legacy" || who.userId === null || createdByNewApp(who.userId) || state.phase === "complete") return backend;
    const known = this.users.known(who.userId);
    if (known !== null) return known ? "workers" : "legacy";
    if (!(await proven())) return "legacy";
    try {
      return (await this.users.holds(who.userId)) ? "workers" : "legacy";
    } catch (e) {
      // The new app cannot answer without D1 either: its failure is measured, not hidden on legacy.
      console.error("user lookup failed:", e);
      return "workers";
    }
  }
}

/** Marks which side served a response (a mutable copy: fetched responses have frozen headers). */
export function servedBy(response: Response, backend: Backend): Response {
  const out = new Response(response.body, response);
  out.headers.set("x-served-by", backend);
  return out;
}

let sharedPlane: ControlPlane | null = null;
let sharedCache: CutoverStateCache | null = null;
let shared: Gate | null = null;

/** This isolate's way to the control plane: its relay shard, or the coordinator (relay/control-plane.ts). */
export function isolateControlPlane(env: Env): ControlPlane {
  sharedPlane ??= controlPlane(env);
  return sharedPlane;
}

/** This isolate's copy of the cutover state (the gate's, and /health's). */
export function isolateCutoverCache(env: Env): CutoverStateCache {
  sharedCache ??= new CutoverStateCache(() => isolateControlPlane(env).readState(), cacheTtlMs(env));
  return sharedCache;
}

/** This isolate's gate: one state cache and one metrics buffer shared by all its requests. */
export function sharedGate(env: Env, app: Handler): Gate {
  shared ??= new Gate(isolateCutoverCache(env), new MetricsBuffer(), new UserDirectory(env.DB), app);
  return shared;
}

/** Whether a token's signature checks with the new app's or the legacy secret (and it has not expired). */
async function signedByEitherSide(token: string, env: Env): Promise<boolean> {
  for (const secret of [env.JWT_SECRET, env.LEGACY_JWT_SECRET]) {
    if (secret && (await verifyJwt(token, secret, ["user_id"]))) return true;
  }
  return false;
}
