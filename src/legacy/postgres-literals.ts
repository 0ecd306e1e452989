/** Decoding of the PostgreSQL text forms that `\copy ... CSV` writes. */

/** Parses a one-dimensional PostgreSQL array literal such as `{a,"b c",NULL}`. Throws on malformed input. */
export function parsePgArray(literal: string): string[] {
  const text = literal.trim();
  if (text === "") return [];
  if (!text.startsWith("{") || !text.endsWith("}")) throw new Error(`not an array literal: ${truncate(text)}`);
  const body = text.slice(1, -1);
  const out: string[] = [];
  if (body.trim() === "") return out;
  let i = 0;
  while (i <= body.length) {
    let value = "";
    let quoted = false;
    while (body[i] === " ") i++;
    if (body[i] === '"') {
      quoted = true;
      i++;
      for (;;) {
        if (i >= body.length) throw new Error(`unterminated quote in array literal: ${truncate(text)}`);
        const c = body[i++]!;
        if (c === "\\") value += body[i++] ?? "";
        else if (c === '"') break;
        else value += c;
      }
      while (body[i] === " ") i++;
    } else {
      while (i < body.length && body[i] !== ",") {
        if (body[i] === "{" || body[i] === '"') throw new Error(`nested or stray quote in array literal: ${truncate(text)}`);
        value += body[i++];
      }
      value = value.trim();
    }
    if (i < body.length && body[i] !== ",") throw new Error(`malformed array literal: ${truncate(text)}`);
    if (!quoted && value.toUpperCase() === "NULL") {
      // SQL NULL elements carry no tag; leave them out.
    } else out.push(value);
    i++;
  }
  return out;
}

/** `t`/`f` (and the spelled-out forms) as PostgreSQL prints booleans. */
export function parsePgBoolean(text: string): boolean {
  const v = text.trim().toLowerCase();
  if (v === "t" || v === "true" || v === "1") return true;
  if (v === "f" || v === "false" || v === "0") return false;
  throw new Error(`not a boolean: ${truncate(text)}`);
}

/** A PostgreSQL timestamp(tz) as ISO 8601 UTC; empty text is null. */
export function parsePgTimestamp(text: string): string | null {
  const v = text.trim();
  if (v === "") return null;
  const normalised = v.replace(" ", "T").replace(/([+-]\d\d)$/, "$1:00");
  const ms = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(normalised) ? normalised : `${normalised}Z`);
  if (Number.isNaN(ms)) throw new Error(`not a timestamp: ${truncate(text)}`);
  return new Date(ms).toISOString();
}

function truncate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

// ── encoding: the same literals, written for PostgreSQL to read (the reverse-sync bundle) ─────────

/**
 * A one-dimensional PostgreSQL array literal of text elements, quoted as PostgreSQL itself prints
 * them: an element that is empty, spells NULL, or holds whitespace, a brace, a comma, a quote or a
 * backslash is double-quoted, with `"` and `\` escaped by a backslash. `parsePgArray` reads it back.
 */
export function formatPgArray(items: readonly string[]): string {
  return `{${items.map(pgArrayElement).join(",")}}`;
}

function pgArrayElement(item: string): string {
  const plain = item !== "" && item.toUpperCase() !== "NULL" && !/[\s{}",\\]/.test(item);
  return plain ? item : `"${item.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** `t` / `f`, as PostgreSQL prints a boolean. */
export function formatPgBoolean(value: boolean): "t" | "f" {
  return value ? "t" : "f";
}

/**
 * An instant as ISO 8601 with an explicit offset (`2026-01-02T03:04:05.678+00:00`), which
 * PostgreSQL reads as timestamptz; null stays null. Throws on text that is not a timestamp.
 */
export function formatPgTimestamp(iso: string | null): string | null {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`not a timestamp: ${truncate(iso)}`);
  return new Date(ms).toISOString().replace(/Z$/, "+00:00");
}
