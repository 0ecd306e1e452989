import { HttpError } from "./http";

/** JSON bodies larger than this are refused (413) unless a route allows more. */
export const DEFAULT_JSON_BODY_BYTES = 64 * 1024;
/** Deeper nesting is refused: JSON.parse copes, but JSON.stringify and validators recurse. */
const MAX_JSON_DEPTH = 32;

/**
 * A request body's bytes, at most `maxBytes` of them (413 past that, from the declared length when
 * there is one, without reading); a body the client stops sending is a 400.
 */
export async function readBodyBytes(request: Request, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () => new HttpError(413, `the body is larger than ${maxBytes} bytes`, "body");
  if (Number(request.headers.get("content-length") ?? Number.NaN) > maxBytes) throw tooLarge();
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const held: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) throw tooLarge();
      held.push(value);
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e instanceof HttpError ? e : new HttpError(400, "the request body could not be read", "body");
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of held) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}

/** A request body read as UTF-8 text, at most `maxBytes` of it (see readBodyBytes); bytes that are not UTF-8 are a 400. */
export async function readBodyText(request: Request, maxBytes: number): Promise<string> {
  const bytes = await readBodyBytes(request, maxBytes);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new HttpError(400, "the body is not UTF-8 text", "body");
  }
}

/** `text` as JSON, or why not ("is not valid JSON", or nested deeper than MAX_JSON_DEPTH). Linear in the text. */
export function parseJsonText(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  if (nestingDepth(text) > MAX_JSON_DEPTH) return { ok: false, error: `is nested deeper than ${MAX_JSON_DEPTH} levels` };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false, error: "is not valid JSON" };
  }
}

/** The deepest bracket nesting outside strings, in one pass. */
function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) deepest = Math.max(deepest, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}
