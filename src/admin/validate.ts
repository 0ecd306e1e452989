import type { IRequest } from "itty-router";
import { z } from "zod";
import { audit } from "../audit";
import { exportSetName } from "../coordinator/model";
import type { Env } from "../env";
import { jsonResponse, readJsonObject } from "../lib/http";
import { DEFAULT_SAMPLE, MAX_SAMPLE } from "../validation/report";
import { runValidation } from "../validation/suite";
import { operator } from "./auth";

export const validateBody = z
  .object({
    sample: z.number().int("must be a whole number").min(1, "must be at least 1").max(MAX_SAMPLE, `must be at most ${MAX_SAMPLE}`).default(DEFAULT_SAMPLE),
    exportSet: exportSetName.optional(),
  })
  .strict();

/**
 * POST /admin/validate — runs the validation suite (src/validation/) and answers its report: 200
 * whether or not every check passed (`ok` tells). An empty body takes the defaults. Audited as
 * `cutover.validate` with each check's outcome (the failures themselves are in the report).
 */
export async function postValidate(request: IRequest, env: Env): Promise<Response> {
  const { sample, exportSet } = await readJsonObject(request, validateBody);
  const report = await runValidation(env, { sample, exportSet: exportSet ?? null });
  const { checks, ...summary } = report;
  await audit(env, {
    actor: operator(request),
    action: "cutover.validate",
    target: report.exportSet,
    details: { ...summary, checks: checks.map(({ group, name, ok, ms, detail }) => ({ group, name, ok, ms, detail })) },
  });
  return jsonResponse(report);
}
