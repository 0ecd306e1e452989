/** Hop-by-hop headers (RFC 9110 §7.6.1): meaningful for one connection only, never forwarded. */
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"];

/** A copy of `headers` without hop-by-hop headers, including those the Connection header names. */
export function endToEndHeaders(headers: Headers): Headers {
  const out = new Headers(headers);
  const named = (headers.get("connection") ?? "").split(",").map((h) => h.trim().toLowerCase()).filter(Boolean);
  for (const name of [...HOP_BY_HOP, ...named]) out.delete(name);
  return out;
}

/**
 * Forwards a request to the legacy origin, streaming its body both ways (uploads are not buffered).
 * Redirects are passed back to the client, with Locations on the legacy origin rewritten to ours;
 * a network failure is a 502 with a JSON error.
 */
export async function proxyToLegacy(request: Request, legacyOrigin: string): Promise<Response> {
  const incoming = new URL(request.url);
  const target = new URL(incoming.pathname + incoming.search, legacyOrigin);
  const headers = endToEndHeaders(request.headers);
  headers.delete("host");
  const clientIp = request.headers.get("cf-connecting-ip");
  const forwardedFor = request.headers.get("x-forwarded-for");
  if (clientIp) headers.set("x-forwarded-for", forwardedFor ? `${forwardedFor}, ${clientIp}` : clientIp);
  headers.set("x-forwarded-proto", incoming.protocol.replace(":", ""));
  headers.set("x-forwarded-host", incoming.host);

  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method: request.method,
      headers,
      body: request.method === "GET" || request.method === "HEAD" ? null : request.body,
      redirect: "manual",
    });
  } catch (e) {
    return new Response(JSON.stringify({ error: "legacy origin unreachable", detail: e instanceof Error ? e.message : String(e) }), {
      status: 502,
      headers: { "content-type": "application/json; charset=utf-8" },
    });
  }
  const responseHeaders = endToEndHeaders(upstream.headers);
  const location = responseHeaders.get("location");
  if (location) {
    const resolved = new URL(location, target);
    if (resolved.origin === target.origin) responseHeaders.set("location", incoming.origin + resolved.pathname + resolved.search + resolved.hash);
  }
  return new Response(upstream.body, { status: upstream.status, statusText: upstream.statusText, headers: responseHeaders });
}
