import { Router, type IRequest } from "itty-router";
import type { Env } from "../env";
import { errorResponse } from "../lib/http";
import { requireAdmin } from "./auth";
import { getCutover, getMetrics, patchCutover, rollbackCutover } from "./cutover";
import { controlRun, getRun, startRun } from "./cutover-run";
import { getBundle, getBundleFile, getBundlePart, postApplied } from "./bundles";
import { getExportSet, putExport } from "./exports";
import { jobReport } from "./job-report";
import { preflight } from "./preflight";
import { postValidate } from "./validate";
import { controlJob, createJob, getConflict, getJob, jobFailures, listConflicts, listJobs, resolveConflict } from "./jobs";

type Args = [Env, ExecutionContext];

/** The operator API. Every route under /admin/ passes requireAdmin first. */
export const adminRouter = Router<IRequest, Args>({ base: "/admin" })
  .all("*", requireAdmin)
  .put("/exports/:set/:table", putExport)
  .get("/exports/:set", getExportSet)
  .post("/jobs", createJob)
  .get("/jobs", listJobs)
  .get("/jobs/:id", getJob)
  .get("/jobs/:id/failures", jobFailures)
  .get("/jobs/:id/report", jobReport)
  .get("/jobs/:id/bundle", getBundle)
  .get("/jobs/:id/bundle/:part", getBundlePart)
  .get("/jobs/:id/files/:fileId", getBundleFile)
  .post("/jobs/:id/applied", postApplied)
  .post("/jobs/:id/:action", controlJob)
  .get("/conflicts", listConflicts)
  .get("/conflicts/:id", getConflict)
  .post("/conflicts/:id/resolve", resolveConflict)
  .get("/cutover", getCutover)
  .post("/cutover/run", startRun)
  .get("/cutover/run", getRun)
  .post("/cutover/run/:action", controlRun)
  .patch("/cutover", patchCutover)
  .post("/cutover/rollback", rollbackCutover)
  .post("/cutover/preflight", preflight)
  .post("/validate", postValidate)
  .get("/metrics", getMetrics)
  .all("*", () => errorResponse(404, "no such operator route"));
