import type { z } from "zod";
import { DEFAULT_JSON_BODY_BYTES, parseJsonText, readBodyText } from "./json-body";

/** An error that becomes a 4xx response naming the field at fault. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export function jsonResponse(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json; charset=utf-8", ...headers } });
}

export function errorResponse(status: number, error: string, field?: string): Response {
  return jsonResponse(field === undefined ? { error } : { error, field }, status);
}

/** Parses a bounded JSON body against a schema; bad JSON or a failing field is a 400 naming it. */
export async function readJson<S extends z.ZodType>(request: Request, schema: S, maxBytes = DEFAULT_JSON_BODY_BYTES): Promise<z.output<S>> {
  const parsed = parseJsonText(await readBodyText(request, maxBytes));
  if (!parsed.ok) throw new HttpError(400, `body ${parsed.error}`, "body");
  return parseWith(schema, parsed.value, "body");
}

/** A JSON object body (an empty body reads as `{}`), with `extra` fields (from the path, say) merged in, checked against a schema. */
export async function readJsonObject<S extends z.ZodType>(request: Request, schema: S, extra: Record<string, unknown> = {}, maxBytes = DEFAULT_JSON_BODY_BYTES): Promise<z.output<S>> {
  const text = await readBodyText(request, maxBytes);
  const parsed = text.trim() === "" ? { ok: true as const, value: {} } : parseJsonText(text);
  if (!parsed.ok) throw new HttpError(400, `body ${parsed.error}`, "body");
  if (typeof parsed.value !== "object" || parsed.value === null || Array.isArray(parsed.value)) throw new HttpError(400, "body must be a JSON object", "body");
  return parseWith(schema, { ...parsed.value, ...extra }, "body");
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.map(String);
  if (issue.code === "unrecognized_keys") path.push(...issue.keys);
  const field = path.join(".") || where;
  throw new HttpError(400, `${field}: ${issue.message}`, field);
}
