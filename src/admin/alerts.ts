import type { IRequest } from "itty-router";
import { z } from "zod";
import { channelInputSchema } from "../alerts/model";
import type { Env } from "../env";
import { coordinator } from "../env";
import { jsonResponse, parseWith, readJson } from "../lib/http";
import { unwrap } from "../lib/outcome";
import { operator } from "./auth";

export const channelParams = z.object({ id: z.string().uuid("must be a channel id (UUID)") });
export const alertKeyBody = z.object({ key: z.string().min(1).max(255) }).strict();
export const alertsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) });

/** GET /admin/alerts — firing alerts, the newest events with their deliveries, the channels. */
export async function getAlerts(request: IRequest, env: Env): Promise<Response> {
  const { limit } = parseWith(alertsQuery, request.query, "query");
  return jsonResponse(await coordinator(env).alertsView(limit));
}

/** POST /admin/alerts/channels — adds a channel; its secret is sealed and never shown again. */
export async function addChannel(request: IRequest, env: Env): Promise<Response> {
  const input = await readJson(request, channelInputSchema);
  return jsonResponse(unwrap(await coordinator(env).addAlertChannel(input, operator(request))), 201);
}

export async function removeChannel(request: IRequest, env: Env): Promise<Response> {
  const { id } = parseWith(channelParams, request.params, "path");
  return jsonResponse(unwrap(await coordinator(env).removeAlertChannel(id, operator(request))));
}

/** POST /admin/alerts/channels/:id/test — a test message through the queue, like any alert. */
export async function testChannel(request: IRequest, env: Env): Promise<Response> {
  const { id } = parseWith(channelParams, request.params, "path");
  return jsonResponse(unwrap(await coordinator(env).testAlertChannel(id, operator(request))), 202);
}

/** POST /admin/alerts/resolve — the operator resolves a firing alert (it stays quiet until its condition clears). */
export async function resolveAlert(request: IRequest, env: Env): Promise<Response> {
  const { key } = await readJson(request, alertKeyBody);
  return jsonResponse(unwrap(await coordinator(env).resolveAlert(key, operator(request))));
}
