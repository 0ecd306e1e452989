import type { IRequest } from "itty-router";
import { z } from "zod";
import type { Env } from "../env";
import { coordinator } from "../env";
import { parseWith } from "../lib/http";
import { jobParams } from "./jobs";
import { reportResponse } from "./report-stream";

export const reportQuery = z
  .object({
    variant: z.enum(["full", "errors"]).default("full"),
    /** Without it: CSV if the client accepts text/csv, else JSON. */
    format: z.enum(["csv", "json"]).optional(),
  })
  .strict();

/** GET /admin/jobs/:id/report?variant=full|errors&format=csv|json — streamed (report-stream.ts). */
export async function jobReport(request: IRequest, env: Env): Promise<Response> {
  const { id } = parseWith(jobParams, request.params, "path");
  const { variant, format } = parseWith(reportQuery, request.query, "query");
  const wantsCsv = (request.headers.get("accept") ?? "").includes("text/csv");
  return reportResponse(coordinator(env), id, { variant, format: format ?? (wantsCsv ? "csv" : "json") });
}
