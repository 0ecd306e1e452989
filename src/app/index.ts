import type { Env } from "../env";
import { errorResponse } from "../lib/http";

/** The new List Cutter app behind the gate. */
export async function app(_request: Request, _env: Env, _ctx: ExecutionContext): Promise<Response> {
  return errorResponse(404, "not found");
}
