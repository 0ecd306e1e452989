import css from "../dashboards/operator.css";
import html from "../dashboards/operator.html";
import js from "../dashboards/operator.js";

const ASSETS: Record<string, { body: string; type: string }> = {
  "/dashboard": { body: html, type: "text/html; charset=utf-8" },
  "/dashboard/operator.js": { body: js, type: "text/javascript; charset=utf-8" },
  "/dashboard/operator.css": { body: css, type: "text/css; charset=utf-8" },
};

/**
 * The operator dashboard (static; public like any login page). It holds no data itself: the
 * browser calls /admin/* with the token the operator types in.
 */
export function dashboard(pathname: string): Response | null {
  const asset = ASSETS[pathname];
  if (!asset) return null;
  return new Response(asset.body, {
    headers: {
      "content-type": asset.type,
      "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      "cache-control": "no-cache",
    },
  });
}
