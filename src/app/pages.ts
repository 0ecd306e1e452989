import type { Env } from "../env";
import { jsonResponse } from "../lib/http";
import { PAGE_HEADERS } from "../lib/page-headers";

/** Whether a path is the web app's (a page or one of its files) rather than the API's. */
export function isPagePath(pathname: string): boolean {
  return pathname !== "/api" && !pathname.startsWith("/api/");
}

/** A last path segment with an extension other than .html names a file: one that is missing is a 404, not the app's page. */
const FILE_NAME = /\.(?!html?$)[A-Za-z0-9]{1,10}$/;

/**
 * The end-user web app's files (web/, served as static assets): any path outside /api/ that is not a
 * file is the app's page (single-page application), whose script then calls /api/ on this origin.
 */
export async function page(request: Request, env: Env): Promise<Response> {
  if (request.method !== "GET" && request.method !== "HEAD") return jsonResponse({ detail: "Method not allowed." }, 405, { allow: "GET, HEAD" });
  const asset = await env.ASSETS.fetch(request);
  const html = (asset.headers.get("content-type") ?? "").startsWith("text/html");
  if (html && FILE_NAME.test(new URL(request.url).pathname)) {
    await asset.body?.cancel();
    return jsonResponse({ detail: "Not found." }, 404);
  }
  const headers = new Headers(asset.headers);
  for (const [name, value] of Object.entries(PAGE_HEADERS)) headers.set(name, value);
  if (html) headers.set("cache-control", "no-cache");
  return new Response(asset.body, { status: asset.status, statusText: asset.statusText, headers });
}
