import type { IRequest } from "itty-router";
import { z } from "zod";
import type { Env } from "../env";
import { coordinator } from "../env";
import type { JobAction } from "../coordinator/coordinator";
import { conflictListQuery, createJobSchema, failureCursorSchema, resolveConflictSchema, type Failure, type FailureCursor } from "../coordinator/model";
import { csvLine } from "../app/csv-output";
import { HttpError, jsonResponse, parseWith, readJson } from "../lib/http";
import { unwrap } from "../lib/outcome";
import { operator } from "./auth";
import { fromBase64Url, toBase64Url } from "../lib/base64";

export const jobParams = z.object({ id: z.string().uuid("must be a job id (UUID)") });
export const jobActionParams = jobParams.extend({ action: z.enum(["pause", "resume", "cancel", "retry-failed"]) });
export const pageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).default(1_000),
  offset: z.coerce.number().int().min(0).default(0),
});

export const failuresQuery = pageQuery.extend({
  /** Only failures of this reason (a FailureReason, invalid_row, or a conflict's kind). */
  reason: z.string().regex(/^[a-z_]{1,64}$/, "must be a failure reason such as http_error or invalid_row").optional(),
  /** The `next` of the previous page: pages by key, each costing the same however deep (instead of `offset`). */
  after: z
    .string()
    .max(400)
    .transform((text, ctx) => {
      const parsed = failureCursorSchema.safeParse(decodeCursor(text));
      if (parsed.success) return parsed.data;
      ctx.addIssue({ code: "custom", message: "must be the `next` of a previous page" });
      return z.NEVER;
    })
    .optional(),
});

/** A failures cursor travels as base64url JSON: opaque to clients, checked with zod when it comes back. */
function encodeCursor(cursor: FailureCursor): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(cursor)));
}

function decodeCursor(text: string): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(fromBase64Url(text)));
  } catch {
    return null;
  }
}

export async function createJob(request: IRequest, env: Env): Promise<Response> {
  const input = await readJson(request, createJobSchema);
  const job = unwrap(await coordinator(env).createJob(input, operator(request)));
  return jsonResponse({ id: job.id, state: job.state, kind: job.kind }, 201, { location: `/admin/jobs/${job.id}` });
}

export async function listJobs(_request: IRequest, env: Env): Promise<Response> {
  return jsonResponse({ jobs: await coordinator(env).listJobs() });
}

export async function getJob(request: IRequest, env: Env): Promise<Response> {
  const { id } = parseWith(jobParams, request.params, "path");
  return jsonResponse(unwrap(await coordinator(env).getJob(id)));
}

export async function controlJob(request: IRequest, env: Env): Promise<Response> {
  const { id, action } = parseWith(jobActionParams, request.params, "path");
  return jsonResponse(unwrap(await coordinator(env).control(id, action as JobAction, operator(request))));
}

/** GET /admin/jobs/:id/failures — JSON, or CSV with `Accept: text/csv`. */
export async function jobFailures(request: IRequest, env: Env): Promise<Response> {
  const { id } = parseWith(jobParams, request.params, "path");
  const { limit, offset, reason, after } = parseWith(failuresQuery, request.query, "query");
  if (after && offset > 0) throw new HttpError(400, "give either offset or after, not both", "after");
  const page = unwrap(await coordinator(env).failures(id, limit, offset, reason ?? null, after ?? null));
  if ((request.headers.get("accept") ?? "").includes("text/csv")) {
    return new Response(failuresCsv(page.failures), { headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="job-${id}-failures.csv"` } });
  }
  return jsonResponse({ id, ...page, next: page.next ? encodeCursor(page.next) : null, reason: reason ?? null, limit, offset });
}

export const conflictParams = z.object({ id: z.coerce.number().int().positive("must be a conflict id").max(Number.MAX_SAFE_INTEGER) });

/** GET /admin/conflicts?state=open|resolved&limit=&offset= */
export async function listConflicts(request: IRequest, env: Env): Promise<Response> {
  const { state, limit, offset } = parseWith(conflictListQuery, request.query, "query");
  return jsonResponse({ conflicts: await coordinator(env).listConflicts(state, limit, offset), state: state ?? null, limit, offset });
}

export async function getConflict(request: IRequest, env: Env): Promise<Response> {
  const { id } = parseWith(conflictParams, request.params, "path");
  return jsonResponse(unwrap(await coordinator(env).getConflict(id)));
}

/** POST /admin/conflicts/:id/resolve — see resolveConflictSchema and coordinator/conflict-resolution.ts. */
export async function resolveConflict(request: IRequest, env: Env): Promise<Response> {
  const { id } = parseWith(conflictParams, request.params, "path");
  const input = await readJson(request, resolveConflictSchema);
  return jsonResponse(unwrap(await coordinator(env).resolveConflict(id, input, operator(request))));
}

/** The conflict's id is in its detail ("conflict #7: …"): the columns stay those spreadsheets already read. */
const FAILURE_COLUMNS = ["kind", "fileId", "table", "line", "source", "reason", "detail", "attempts"] as const satisfies readonly (keyof Failure)[];

/** Paths and details come from legacy data: written like every CSV we serve, formulae neutralised. */
function failuresCsv(failures: readonly Failure[]): string {
  const rows = failures.map((f) => FAILURE_COLUMNS.map((column) => String(f[column] ?? "")));
  return [FAILURE_COLUMNS, ...rows].map(csvLine).join("");
}
