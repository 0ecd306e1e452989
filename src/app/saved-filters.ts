import type { IRequest } from "itty-router";
import { z } from "zod";
import type { Env } from "../env";
import { HttpError, jsonResponse } from "../lib/http";
import { isStorableJson, storable, UNSTORABLE_MESSAGE } from "../lib/storable-text";
import { readBody } from "./contract";
import { ownedFile } from "./files";
import { requireUser, type SessionUser } from "./session";
import { FIRST_NEW_ID, SQL_NOW } from "../lib/d1";
import { tombstone } from "../sync/tombstones";
import { recordFilterDelete, recordFilterUpsert } from "../sync/outbox";

const filterFields = {
  name: storable(z.string().trim().min(1, "This field may not be blank.").max(255)),
  description: storable(z.string().max(2000)),
  file_id: z.string().uuid("Must be a file_id.").nullable(),
  filter_config: z.record(z.string(), z.unknown()).refine(isStorableJson, UNSTORABLE_MESSAGE),
};
const createBody = z.object({ ...filterFields, description: filterFields.description.default(""), file_id: filterFields.file_id.default(null) }).strict();
const updateBody = z.object(filterFields).partial().strict();

interface StoredFilter {
  id: number;
  legacy_id: number | null;
  file_id: string | null;
  name: string;
  description: string;
  filter_config: string;
  created_at: string;
  updated_at: string;
}

const shape = (r: StoredFilter) => ({ id: r.id, file_id: r.file_id, name: r.name, description: r.description, filter_config: JSON.parse(r.filter_config), created_at: r.created_at, updated_at: r.updated_at });

async function owned(env: Env, user: SessionUser, id: string | undefined): Promise<StoredFilter> {
  const row = /^\d{1,15}$/.test(id ?? "") ? await env.DB.prepare(`SELECT * FROM saved_filters WHERE id = ? AND user_id = ?`).bind(Number(id), user.id).first<StoredFilter>() : null;
  if (!row) throw new HttpError(404, "Filter not found.", "id");
  return row;
}

/** GET /api/list_cutter/filters/ */
export async function listFilters(request: IRequest, env: Env): Promise<Response> {
  const user = await requireUser(request, env);
  const rows = await env.DB.prepare(`SELECT * FROM saved_filters WHERE user_id = ? ORDER BY created_at DESC, id DESC`).bind(user.id).all<StoredFilter>();
  return jsonResponse({ filters: rows.results.map(shape) });
}

/** POST /api/list_cutter/filters/ */
export async function createFilter(request: IRequest, env: Env): Promise<Response> {
  const user = await requireUser(request, env);
  const body = await readBody(request, createBody);
  if (body.file_id) await ownedFile(env, user, body.file_id);
  const [created] = await env.DB.batch<StoredFilter>([
    env.DB.prepare(
      `INSERT INTO saved_filters (id, user_id, file_id, name, description, filter_config)
       VALUES ((SELECT max(coalesce(max(id), 0), ?) + 1 FROM saved_filters), ?, ?, ?, ?, ?) RETURNING *`,
    ).bind(FIRST_NEW_ID, user.id, body.file_id, body.name, body.description, JSON.stringify(body.filter_config)),
    recordFilterUpsert(env.DB, null, user.id),
  ]);
  return jsonResponse(shape(created!.results[0]!), 201);
}

/** GET /api/list_cutter/filters/<id>/ */
export async function getFilter(request: IRequest, env: Env): Promise<Response> {
  const user = await requireUser(request, env);
  return jsonResponse(shape(await owned(env, user, request.params.id)));
}

/** PATCH /api/list_cutter/filters/<id>/ */
export async function updateFilter(request: IRequest, env: Env): Promise<Response> {
  const user = await requireUser(request, env);
  const current = await owned(env, user, request.params.id);
  const body = await readBody(request, updateBody);
  if (body.file_id) await ownedFile(env, user, body.file_id);
  const next = { ...current, ...body, filter_config: body.filter_config ? JSON.stringify(body.filter_config) : current.filter_config };
  // Nothing changed: nothing written, and nothing for legacy to receive (nor a reason to hold the user back).
  if (next.name === current.name && next.description === current.description && next.file_id === current.file_id && next.filter_config === current.filter_config) return jsonResponse(shape(current));
  const [updated] = await env.DB.batch<StoredFilter>([
    env.DB.prepare(
      `UPDATE saved_filters SET name = ?, description = ?, file_id = ?, filter_config = ?, changed_on = 'new', updated_at = ${SQL_NOW}
       WHERE id = ? AND user_id = ? RETURNING *`,
    ).bind(next.name, next.description, next.file_id, next.filter_config, current.id, user.id),
    recordFilterUpsert(env.DB, current.id, user.id),
  ]);
  const row = updated!.results[0];
  if (!row) throw new HttpError(404, "Filter not found.", "id");
  return jsonResponse(shape(row));
}

/** DELETE /api/list_cutter/filters/<id>/ — an imported filter leaves a tombstone; the outbox entry goes first, in the same batch. */
export async function deleteFilter(request: IRequest, env: Env): Promise<Response> {
  const user = await requireUser(request, env);
  const row = await owned(env, user, request.params.id);
  const grave = tombstone(env.DB, "saved_filters", row.id, row.legacy_id);
  await env.DB.batch([recordFilterDelete(env.DB, row.id, user.id), env.DB.prepare(`DELETE FROM saved_filters WHERE id = ? AND user_id = ?`).bind(row.id, user.id), ...(grave ? [grave] : [])]);
  return new Response(null, { status: 204 });
}
