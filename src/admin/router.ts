import { Router, type IRequest } from "itty-router";
import type { Env } from "../env";
import { errorResponse } from "../lib/http";
import { requireAdmin } from "./auth";
import { getCutover, getMetrics, patchCutover, rollbackCutover } from "./cutover";
import { getExportSet, putExport } from "./exports";
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
  .post("/jobs/:id/:action", controlJob)
  .get("/conflicts", listConflicts)
  .get("/conflicts/:id", getConflict)
  .post("/conflicts/:id/resolve", resolveConflict)
  .get("/cutover", getCutover)
  .patch("/cutover", patchCutover)
  .post("/cutover/rollback", rollbackCutover)
  .get("/metrics", getMetrics)
  .all("*", () => errorResponse(404, "no such operator route"));
