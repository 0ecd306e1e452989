import type { CutoverState } from "./state";

/** The maintenance answer: 503 with Retry-After, JSON for API clients, a small page for people. */
export function maintenanceResponse(request: Request, maintenance: CutoverState["maintenance"]): Response {
  const headers = { "retry-after": String(maintenance.retryAfterSeconds), "cache-control": "no-store" };
  const wantsJson = new URL(request.url).pathname.startsWith("/api/") || (request.headers.get("accept") ?? "").includes("application/json");
  if (wantsJson) {
    return new Response(JSON.stringify({ error: "maintenance", message: maintenance.message, retryAfterSeconds: maintenance.retryAfterSeconds }), {
      status: 503,
      headers: { ...headers, "content-type": "application/json; charset=utf-8" },
    });
  }
  const page = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>List Cutter — maintenance</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1d2733"><h1>Back soon</h1><p>${escapeHtml(maintenance.message)}</p>
<p>Please try again in about ${Math.ceil(maintenance.retryAfterSeconds / 60)} minute(s).</p></body></html>`;
  return new Response(page, { status: 503, headers: { ...headers, "content-type": "text/html; charset=utf-8" } });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
