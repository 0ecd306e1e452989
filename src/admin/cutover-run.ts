import type { IRequest } from "itty-router";
import { z } from "zod";
import type { Env } from "../env";
import { coordinator } from "../env";
import { runControlSchema, runPlanSchema } from "../coordinator/cutover-run-model";
import { HttpError, jsonResponse, parseWith, readJson, readJsonObject } from "../lib/http";
import { unwrap } from "../lib/outcome";
import { operator } from "./auth";

/** POST /admin/cutover/run — starts a cutover run with a plan (coordinator/cutover-run-model.ts). */
export async function startRun(request: IRequest, env: Env): Promise<Response> {
  const plan = await readJson(request, runPlanSchema);
  return jsonResponse(unwrap(await coordinator(env).startRun(plan, operator(request))), 201, { location: "/admin/cutover/run" });
}

/** GET /admin/cutover/run — the newest run: its stages with timestamps, the gate, and what it waits for. */
export async function getRun(_request: IRequest, env: Env): Promise<Response> {
  const { value } = await coordinator(env).getRun();
  if (!value) throw new HttpError(404, "no cutover run has been started (POST /admin/cutover/run)");
  return jsonResponse(value);
}

export const runActionParams = z.object({ action: z.enum(["pause", "resume", "skip", "abort"]) });

/** The body of a control call: runControlSchema without `action`, which the path gives. */
export const runControlBody = z.union(runControlSchema.options.map((option: z.ZodObject) => option.omit({ action: true })));

/** POST /admin/cutover/run/pause|resume|skip|abort — skip needs {stage, reason}; pause and abort take an optional {reason}. */
export async function controlRun(request: IRequest, env: Env): Promise<Response> {
  const { action } = parseWith(runActionParams, request.params, "path");
  const input = await readJsonObject(request, runControlSchema, { action });
  return jsonResponse(unwrap(await coordinator(env).controlRun(input, operator(request))));
}
