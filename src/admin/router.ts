import { Router, type IRequest } from "itty-router";
import { createJobSchema, conflictListQuery, resolveConflictSchema } from "../coordinator/model";
import { runPlanSchema } from "../coordinator/cutover-run-model";
import { cutoverPatchSchema } from "../cutover/patch-schema";
import type { Env } from "../env";
import { errorResponse, jsonResponse } from "../lib/http";
import { OPENMETRICS_CONTENT_TYPE } from "../lib/openmetrics";
import { requireAdmin } from "./auth";
import { addChannel, alertKeyBody, alertsQuery, channelParams, getAlerts, removeChannel, resolveAlert, testChannel } from "./alerts";
import { channelInputSchema } from "../alerts/model";
import { getCutover, getMetrics, getMetricsSeries, metricsQuery, metricsSeriesQuery, patchCutover, rollbackBody, rollbackCutover } from "./cutover";
import { controlRun, getRun, runActionParams, runControlBody, startRun } from "./cutover-run";
import { appliedBody, fileParams, getBundle, getBundleFile, getBundlePart, partParams, postApplied } from "./bundles";
import { exportParams, exportSetParams, getExportSet, putExport } from "./exports";
import { jobReport, reportQuery } from "./job-report";
import { openApiDocument, type AdminRoute } from "./openapi";
import { preflight, preflightBody } from "./preflight";
import { postValidate, validateBody } from "./validate";
import { conflictParams, controlJob, createJob, getConflict, getJob, jobActionParams, failuresQuery, jobFailures, jobParams, listConflicts, listJobs, resolveConflict } from "./jobs";

type Args = [Env, ExecutionContext];

const CSV = "text/csv";

/**
 * Every operator route, in matching order (a literal segment before a `:param` in the same place).
 * The router and the OpenAPI document (GET /admin/openapi.json) are both built from this table;
 * `params`, `query` and `body` are the schemas the handler itself parses with.
 */
export const ADMIN_ROUTES: readonly AdminRoute[] = [
  { method: "put", path: "/exports/:set/:table", handler: putExport, summary: "Upload one export CSV (streamed to R2; the header is checked)", params: exportParams, body: { raw: CSV }, status: 201 },
  { method: "get", path: "/exports/:set", handler: getExportSet, summary: "What an export set holds", params: exportSetParams },
  { method: "post", path: "/jobs", handler: createJob, summary: "Start a job (full, delta, verify or reverse)", body: { json: createJobSchema }, status: 201 },
  { method: "get", path: "/jobs", handler: listJobs, summary: "The newest jobs" },
  { method: "get", path: "/jobs/:id", handler: getJob, summary: "A job: items, bytes, throughput, eta", params: jobParams },
  { method: "get", path: "/jobs/:id/failures", handler: jobFailures, summary: "A job's failures, optionally of one reason, with their total and counts per reason (JSON, or CSV with Accept: text/csv)", params: jobParams, query: failuresQuery, produces: ["application/json", CSV] },
  { method: "get", path: "/jobs/:id/report", handler: jobReport, summary: "A job's task report, streamed", params: jobParams, query: reportQuery, produces: ["application/json", CSV] },
  { method: "get", path: "/jobs/:id/bundle", handler: getBundle, summary: "A completed reverse job's bundle manifest", params: jobParams },
  { method: "get", path: "/jobs/:id/bundle/:part", handler: getBundlePart, summary: "A CSV part of a reverse job's bundle", params: partParams, produces: [CSV] },
  { method: "get", path: "/jobs/:id/files/:fileId", handler: getBundleFile, summary: "The bytes of a file a reverse job's bundle lists", params: fileParams, produces: [CSV] },
  { method: "post", path: "/jobs/:id/applied", handler: postApplied, summary: "Report a reverse bundle applied on legacy", params: jobParams, body: { json: appliedBody } },
  { method: "post", path: "/jobs/:id/:action", handler: controlJob, summary: "Pause, resume, cancel a job, or retry its failed items", params: jobActionParams },
  { method: "get", path: "/conflicts", handler: listConflicts, summary: "Import conflicts", query: conflictListQuery },
  { method: "get", path: "/conflicts/:id", handler: getConflict, summary: "An import conflict", params: conflictParams },
  { method: "post", path: "/conflicts/:id/resolve", handler: resolveConflict, summary: "Resolve an import conflict", params: conflictParams, body: { json: resolveConflictSchema } },
  { method: "get", path: "/cutover", handler: getCutover, summary: "The cutover state, hold-back, sync lag and recent changes" },
  { method: "post", path: "/cutover/run", handler: startRun, summary: "Start a cutover run with a plan", body: { json: runPlanSchema }, status: 201 },
  { method: "get", path: "/cutover/run", handler: getRun, summary: "The newest cutover run: stages, gate, what it waits for" },
  { method: "post", path: "/cutover/run/:action", handler: controlRun, summary: "Pause, resume, skip a stage of, or abort the cutover run", params: runActionParams, body: { json: runControlBody, optional: true } },
  { method: "patch", path: "/cutover", handler: patchCutover, summary: "Change the cutover state (percent, phase, maintenance, allowlists, thresholds, plan)", body: { json: cutoverPatchSchema } },
  { method: "post", path: "/cutover/rollback", handler: rollbackCutover, summary: "Roll back to legacy", body: { json: rollbackBody, optional: true } },
  { method: "post", path: "/cutover/preflight", handler: preflight, summary: "Dry run of a full job on an export set (writes nothing)", body: { json: preflightBody } },
  { method: "post", path: "/validate", handler: postValidate, summary: "Run the validation suite against the new app", body: { json: validateBody, optional: true } },
  { method: "get", path: "/metrics", handler: getMetrics, summary: "Request metrics per backend, sync lag (format=prometheus: OpenMetrics text with cutover and job gauges)", query: metricsQuery, produces: ["application/json", OPENMETRICS_CONTENT_TYPE] },
  { method: "get", path: "/metrics/series", handler: getMetricsSeries, summary: "Each backend's requests, 5xx and p50/p95 latency over a window, as a series (at most 300 points)", query: metricsSeriesQuery },
  { method: "get", path: "/alerts", handler: getAlerts, summary: "Firing alerts, the newest alert events with their deliveries, and the channels (never their secrets)", query: alertsQuery },
  { method: "post", path: "/alerts/channels", handler: addChannel, summary: "Add an alert channel (webhook signed with HMAC-SHA256, Slack, PagerDuty Events v2); its secret is sealed and never shown again", body: { json: channelInputSchema }, status: 201 },
  { method: "delete", path: "/alerts/channels/:id", handler: removeChannel, summary: "Remove an alert channel", params: channelParams },
  { method: "post", path: "/alerts/channels/:id/test", handler: testChannel, summary: "Send a test alert to one channel (through the alert queue)", params: channelParams, status: 202 },
  { method: "post", path: "/alerts/resolve", handler: resolveAlert, summary: "Resolve a firing alert by its key (it stays quiet until its condition clears)", body: { json: alertKeyBody } },
  { method: "get", path: "/openapi.json", handler: () => jsonResponse(document()), summary: "This document" },
];

let built: ReturnType<typeof openApiDocument> | null = null;
const document = () => (built ??= openApiDocument(ADMIN_ROUTES));

/** The operator API. Every route under /admin/ passes requireAdmin first. */
export const adminRouter = buildRouter();

function buildRouter() {
  const router = Router<IRequest, Args>({ base: "/admin" }).all("*", requireAdmin);
  for (const { method, path, handler } of ADMIN_ROUTES) router[method](path, handler);
  return router.all("*", () => errorResponse(404, "no such operator route"));
}
