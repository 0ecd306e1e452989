import type { IRequest } from "itty-router";
import { z } from "zod";
import type { Env } from "../env";
import { exportSetName } from "../coordinator/model";
import { jsonResponse, readJson } from "../lib/http";
import { MAX_PREFLIGHT_SAMPLE } from "../preflight/limits";
import { runPreflight } from "../preflight/run";

export const preflightBody = z
  .object({
    exportSet: exportSetName,
    sample: z.number().int("must be an integer").min(0, "must be 0 or more").max(MAX_PREFLIGHT_SAMPLE, `at most ${MAX_PREFLIGHT_SAMPLE}`).default(20),
  })
  .strict();

/**
 * POST /admin/cutover/preflight — a dry run of a full job on an export set (src/preflight/run.ts):
 * what it would import, refuse and conflict with, a HEAD sample of the legacy origin, and an
 * estimated duration. Writes nothing, so it is not audited.
 */
export async function preflight(request: IRequest, env: Env): Promise<Response> {
  const input = await readJson(request, preflightBody);
  return jsonResponse(await runPreflight(env, input));
}
