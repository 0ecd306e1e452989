import type { z } from "zod";
import { HttpError, jsonResponse } from "../lib/http";
import { DEFAULT_JSON_BODY_BYTES, parseJsonText, readBodyText } from "../lib/json-body";

/**
 * The legacy API's answers: Django REST Framework shapes (`{detail}`, `{field: [messages]}`) for
 * accounts, `{error}` for list_cutter. The new app answers the same way so clients cannot tell.
 */
export function drf(status: number, body: unknown, headers: HeadersInit = {}): Response {
  return jsonResponse(body, status, headers);
}

/** A bounded JSON body validated against `schema`; failures are DRF field errors (400), too large a body 413. */
export async function readBody<S extends z.ZodType>(request: Request, schema: S, maxBytes = DEFAULT_JSON_BODY_BYTES): Promise<z.output<S>> {
  const json = parseJsonText(await readBodyText(request, maxBytes));
  if (!json.ok) throw new FieldErrors({ detail: `JSON parse error: the body ${json.error}` });
  const parsed = schema.safeParse(json.value ?? {});
  if (parsed.success) return parsed.data;
  const errors: Record<string, string[]> = {};
  for (const issue of parsed.error.issues) {
    const field = issue.path.join(".") || "non_field_errors";
    const message = issue.code === "invalid_type" && issue.input === undefined ? "This field is required." : issue.message;
    (errors[field] ??= []).push(message);
  }
  throw new FieldErrors(errors);
}

/** A 400 carrying DRF-style field errors. */
export class FieldErrors extends HttpError {
  constructor(readonly errors: Record<string, unknown>) {
    super(400, JSON.stringify(errors), Object.keys(errors)[0]);
  }
}
