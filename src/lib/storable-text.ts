import { z } from "zod";

/**
 * Text every side can store. PostgreSQL refuses NUL in text and `\u0000` or an unpaired surrogate
 * in jsonb, so one such value written on the new app would make every reverse sync to legacy fail
 * (scripts/reverse-sync applies a bundle in one transaction). Refused where it comes in instead.
 */

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
export const UNSTORABLE_MESSAGE = "must not contain NUL characters or unpaired surrogates";

export function isStorableText(text: string): boolean {
  return !UNSTORABLE.test(text);
}

/** Whether every string and key in a parsed JSON value is storable (JSON bodies are depth-bounded already). */
export function isStorableJson(value: unknown): boolean {
  if (typeof value === "string") return isStorableText(value);
  if (Array.isArray(value)) return value.every(isStorableJson);
  if (value && typeof value === "object") return Object.entries(value).every(([key, item]) => isStorableText(key) && isStorableJson(item));
  return true;
}

/** `schema`, refusing unstorable text with a message naming the problem. */
export function storable<S extends z.ZodType<string>>(schema: S) {
  return schema.refine(isStorableText, UNSTORABLE_MESSAGE);
}
