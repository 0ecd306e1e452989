import type { IRequest } from "itty-router";
import { z } from "zod";
import { recentAudit } from "../audit";
import type { Env } from "../env";
import { coordinator } from "../env";
import { cacheTtlMs } from "../cutover/state-cache";
import { cutoverPatchSchema } from "../cutover/patch-schema";
import type { CutoverState } from "../cutover/state";
import { jsonResponse, parseWith, readJson, readJsonObject } from "../lib/http";
import { OPENMETRICS_CONTENT_TYPE } from "../lib/openmetrics";
import { unwrap } from "../lib/outcome";
import { operator } from "./auth";
import { PROMETHEUS_JOB_LIMIT, prometheusText } from "./prometheus";

export const rollbackBody = z.object({ reason: z.string().min(1).max(500).optional() }).strict();
export const metricsQuery = z
  .object({
    /** prometheus: OpenMetrics text (prometheus.ts). */
    format: z.enum(["json", "prometheus"]).default("json"),
    /** Seconds; default: the cutover thresholds' windowSeconds. */
    window: z.coerce.number().int().min(10).max(3600).optional(),
  })
  .strict();

export async function getCutover(_request: IRequest, env: Env): Promise<Response> {
  const stub = coordinator(env);
  const [state, sync, history] = await Promise.all([stub.getCutover(), stub.syncStatus(), recentAudit(env, "cutover.", 20)]);
  return jsonResponse({ ...state, holdBack: await heldBack(env, state.holdBack ?? null), cacheTtlMs: cacheTtlMs(env), sync, history });
}

/** Who a rollback holds back on the new app, and why (see CutoverState.holdBack). */
async function heldBack(env: Env, holdBack: CutoverState["holdBack"]) {
  if (!holdBack) return null;
  const row = await env.DB.prepare(`SELECT count(DISTINCT user_id) AS users FROM outbox WHERE seq > ?`).bind(holdBack.afterSeq).first<{ users: number }>();
  return {
    ...holdBack,
    users: row?.users ?? 0,
    reason: `users with new-app writes after outbox sequence ${holdBack.afterSeq} stay on the new app until a reverse sync covering them is applied on legacy (POST /admin/jobs {"kind":"reverse"}, then npm run reverse-sync); PATCH {"holdBack": null} releases them`,
  };
}

export async function patchCutover(request: IRequest, env: Env): Promise<Response> {
  const patch = await readJson(request, cutoverPatchSchema);
  return jsonResponse(unwrap(await coordinator(env).updateCutover(patch, operator(request))));
}

export async function rollbackCutover(request: IRequest, env: Env): Promise<Response> {
  const { reason } = await readJsonObject(request, rollbackBody);
  return jsonResponse(unwrap(await coordinator(env).rollbackCutover(operator(request), reason ?? "manual rollback")));
}

export async function getMetrics(request: IRequest, env: Env): Promise<Response> {
  const { format, window } = parseWith(metricsQuery, request.query, "query");
  const stub = coordinator(env);
  const state = await stub.getCutover();
  const windowSeconds = window ?? state.thresholds.windowSeconds;
  if (format === "prometheus") {
    const [backends, counters, stateReads, sync, jobs] = await Promise.all([stub.metricsTotals(windowSeconds), stub.metricsCounters(), stub.stateReads(), stub.syncStatus(), stub.listJobs(PROMETHEUS_JOB_LIMIT)]);
    const text = prometheusText({ windowSeconds, backends, counters, stateReads, sync, cutover: state, jobs });
    return new Response(text, { headers: { "content-type": OPENMETRICS_CONTENT_TYPE, "cache-control": "no-store" } });
  }
  const [backends, stateReads, sync] = await Promise.all([stub.metrics(windowSeconds), stub.stateReads(), stub.syncStatus()]);
  return jsonResponse({ windowSeconds, backends, stateReads, sync });
}

export const metricsSeriesQuery = z
  .object({
    /** Seconds back from now; at most the hour the 1 s windows are kept. */
    window: z.coerce.number().int().min(10).max(3600).default(300),
  })
  .strict();

/** GET /admin/metrics/series: each backend's judged numbers over the window, oldest first, in steps of whole seconds. */
export async function getMetricsSeries(request: IRequest, env: Env): Promise<Response> {
  const { window } = parseWith(metricsSeriesQuery, request.query, "query");
  return jsonResponse(await coordinator(env).metricsSeries(window));
}
