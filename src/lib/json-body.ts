import { HttpError } from "./http";

/** JSON bodies larger than this are refused (413) unless a route allows more. */
export const DEFAULT_JSON_BODY_BYTES = 64 * 1024;
/** Deeper nesting is refused: JSON.parse copes, but JSON.stringify and validators recurse. */
const MAX_JSON_DEPTH = 32;

/**
 * A request body read as UTF-8 text, at most `maxBytes` of it (413 past that, from the declared
 * length when there is one, without reading); bytes that are not UTF-8 are a 400.
 */
export async function readBodyText(request: Request, maxBytes: number): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (declared > maxBytes) throw new HttpError(413, `the body is larger than ${maxBytes} bytes`, "body");
  if (!request.body) return "";
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  const reader = request.body.getReader();
  let text = "";
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      if (bytes > maxBytes) throw new HttpError(413, `the body is larger than ${maxBytes} bytes`, "body");
      text += decoder.decode(value, { stream: true });
    }
    return text + decoder.decode();
  } catch (e) {
    await reader.cancel().catch(() => {});
    if (e instanceof HttpError) throw e;
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
