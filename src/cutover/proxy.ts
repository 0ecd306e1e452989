import { errorResponse } from "../lib/http";

/** Hop-by-hop headers (RFC 9110 §7.6.1): meaningful for one connection only, never forwarded. */
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];
/** Request targets and header sections larger than these are refused, as Cloudflare's edge and common origins do. */
const MAX_TARGET_BYTES = 8 * 1024;
const MAX_HEADER_BYTES = 16 * 1024;

/** Forwarding headers a client may not supply: the Worker is the first hop legacy trusts, so it sets them itself. */
const CLIENT_FORWARDING = ["forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-real-ip"];

/** A copy of `headers` without hop-by-hop headers, including those the Connection header names. */
export function endToEndHeaders(headers: Headers): Headers {
  const out = new Headers(headers);
  const named = (headers.get("connection") ?? "").split(",").map((h) => h.trim().toLowerCase()).filter(Boolean);
  for (const name of [...HOP_BY_HOP, ...named]) out.delete(name);
  return out;
}

/**
 * Why a request path must not be forwarded, or null if it may. The runtime's URL parser has already
 * turned backslashes into slashes and resolved dot segments (encoded ones too); what remains
 * dangerous is `//` (a network-path reference in any URL resolver) and encoded slashes, backslashes,
 * dots or control characters, which an origin or a library in front of it may decode into those.
 */
function unsafeProxyPath(pathname: string): string | null {
  if (!pathname.startsWith("/")) return "the path must start with /";
  if (pathname.includes("//")) return "empty path segment";
  if (/%(2f|5c|2e|0|1|7f)/i.test(pathname)) return "encoded separator, dot or control character in path";
  if (/[\u0000-\u001f\u007f]/.test(pathname)) return "control character in path";
  return null;
}

/**
 * Forwards a request to the legacy origin and only to it, streaming its body both ways (uploads are
 * not buffered). The target is the origin URL with the request's path and query set, never a URL
 * resolved from the request. Redirects are passed back to the client, with Locations on the legacy
 * origin rewritten to ours; a network failure is a 502 that names nothing internal.
 */
export async function proxyToLegacy(request: Request, legacyOrigin: string): Promise<Response> {
  const incoming = new URL(request.url);
  const refused = unsafeProxyPath(incoming.pathname);
  if (refused) return errorResponse(400, `refused: ${refused}`, "path");
  if (incoming.pathname.length + incoming.search.length > MAX_TARGET_BYTES) return errorResponse(414, `the request target is longer than ${MAX_TARGET_BYTES} bytes`, "path");
  const origin = new URL(legacyOrigin);
  const target = new URL(origin.origin);
  target.pathname = incoming.pathname;
  target.search = incoming.search;

  const headers = endToEndHeaders(request.headers);
  headers.delete("host");
  for (const name of CLIENT_FORWARDING) headers.delete(name);
  const clientIp = request.headers.get("cf-connecting-ip");
  if (clientIp) headers.set("x-forwarded-for", clientIp);
  headers.set("x-forwarded-proto", incoming.protocol.replace(":", ""));
  headers.set("x-forwarded-host", incoming.host);
  if (headerBytes(headers) > MAX_HEADER_BYTES) return errorResponse(431, `the request headers are larger than ${MAX_HEADER_BYTES} bytes`, "headers");

  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method: request.method,
      headers,
      body: request.method === "GET" || request.method === "HEAD" ? null : request.body,
      redirect: "manual",
    });
  } catch (e) {
    console.error("legacy origin unreachable:", e);
    return errorResponse(502, "legacy origin unreachable");
  }
  const responseHeaders = endToEndHeaders(upstream.headers);
  const location = responseHeaders.get("location");
  if (location) {
    const resolved = URL.parse(location, target.href);
    if (resolved?.origin === target.origin) responseHeaders.set("location", incoming.origin + resolved.pathname + resolved.search + resolved.hash);
  }
  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: responseHeaders });
}

function headerBytes(headers: Headers): number {
  let bytes = 0;
  for (const [name, value] of headers) bytes += name.length + value.length + 4;
  return bytes;
}
