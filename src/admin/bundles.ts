import type { IRequest } from "itty-router";
import { z } from "zod";
import type { Env } from "../env";
import { coordinator } from "../env";
import { isUuid } from "../legacy/paths";
import { errorResponse, jsonResponse, parseWith, readJson } from "../lib/http";
import { unwrap } from "../lib/outcome";
import { holdsPart, MANIFEST_NAME } from "../sync/reverse-bundle";
import { bundlePrefix, PART_NAME } from "../sync/reverse-bundle-format";
import { operator } from "./auth";
import { jobParams } from "./jobs";

/**
 * The reverse-sync bundle of a completed reverse job, for `npm run reverse-sync`: the manifest, its
 * parts and its files, each streamed from R2; and the call that reports it applied to legacy. Only
 * what the job's bundle holds is ever looked up: a part by PART_NAME and the job's part counts, a
 * file by the job's own items (the files its bundle lists, verified in R2); anything else is a 404.
 * A listed file whose R2 object is gone since (deleted on the new app) is a 410.
 */

export const partParams = jobParams.extend({ part: z.string() });
export const fileParams = jobParams.extend({ fileId: z.string() });
export const appliedBody = z.object({ toSeq: z.number().int("must be an integer").min(0, "must be 0 or more").max(Number.MAX_SAFE_INTEGER) }).strict();

/** GET /admin/jobs/:id/bundle — the manifest. */
export async function getBundle(request: IRequest, env: Env): Promise<Response> {
  const { id } = parseWith(jobParams, request.params, "path");
  unwrap(await coordinator(env).reverseBundle(id));
  const object = await env.FILES.get(bundlePrefix(id) + MANIFEST_NAME);
  if (!object) return errorResponse(404, `job ${id} has no manifest in R2`);
  return stream(object, "application/json; charset=utf-8");
}

/** GET /admin/jobs/:id/bundle/:part — one CSV part. */
export async function getBundlePart(request: IRequest, env: Env): Promise<Response> {
  const { id, part } = parseWith(partParams, request.params, "path");
  if (!PART_NAME.test(part)) return errorResponse(404, "no such part", "part");
  const bundle = unwrap(await coordinator(env).reverseBundle(id));
  if (!holdsPart(bundle.parts, part)) return errorResponse(404, `the bundle of job ${id} has no part ${part}`, "part");
  const object = await env.FILES.get(bundlePrefix(id) + part);
  if (!object) return errorResponse(404, `part ${part} of job ${id} is not in R2`, "part");
  return stream(object, "text/csv; charset=utf-8", { "content-disposition": `attachment; filename="${part}"` });
}

/** GET /admin/jobs/:id/files/:fileId — the bytes of a file the bundle lists. */
export async function getBundleFile(request: IRequest, env: Env): Promise<Response> {
  const { id, fileId } = parseWith(fileParams, request.params, "path");
  if (!isUuid(fileId)) return errorResponse(404, "no such file", "fileId");
  const file = unwrap(await coordinator(env).reverseFile(id, fileId.toLowerCase()));
  const object = await env.FILES.get(file.r2Key);
  // Listed, but deleted on the new app after the bundle was made: 410, so the applier can tell it
  // from a file the bundle never had (404) and skip it; the next bundle deletes it on legacy too.
  if (!object) return errorResponse(410, `file ${fileId} was deleted on the new app after the bundle was made`, "fileId");
  return stream(object, "text/csv; charset=utf-8", { "x-content-sha256": file.sha256 });
}

/** POST /admin/jobs/:id/applied {toSeq} — the bundle was applied to legacy (idempotent; audited). */
export async function postApplied(request: IRequest, env: Env): Promise<Response> {
  const { id } = parseWith(jobParams, request.params, "path");
  const { toSeq } = await readJson(request, appliedBody);
  return jsonResponse(unwrap(await coordinator(env).bundleApplied(id, toSeq, operator(request))));
}

function stream(object: R2ObjectBody, contentType: string, headers: Record<string, string> = {}): Response {
  return new Response(object.body, {
    headers: { "content-type": contentType, "content-length": String(object.size), "x-content-type-options": "nosniff", "cache-control": "no-store", ...headers },
  });
}
