import css from "../dashboards/operator.css";
import html from "../dashboards/operator.html";
import alerts from "../dashboards/alerts.js";
import api from "../dashboards/api.js";
import audit from "../dashboards/audit.js";
import charts from "../dashboards/charts.js";
import cutover from "../dashboards/cutover.js";
import dialog from "../dashboards/dialog.js";
import dom from "../dashboards/dom.js";
import failures from "../dashboards/failures.js";
import format from "../dashboards/format.js";
import jobs from "../dashboards/jobs.js";
import operator from "../dashboards/operator.js";
import run from "../dashboards/run.js";
import traffic from "../dashboards/traffic.js";
import { PAGE_HEADERS } from "./lib/page-headers";

const JS = "text/javascript; charset=utf-8";

/** The page's ES modules (operator.js imports the others), served under /dashboard/<name>.js. */
const MODULES: Record<string, string> = { alerts, api, audit, charts, cutover, dialog, dom, failures, format, jobs, operator, run, traffic };

const ASSETS: Record<string, { body: string; type: string }> = {
  "/dashboard": { body: html, type: "text/html; charset=utf-8" },
  "/dashboard/operator.css": { body: css, type: "text/css; charset=utf-8" },
  ...Object.fromEntries(Object.entries(MODULES).map(([name, body]) => [`/dashboard/${name}.js`, { body, type: JS }])),
};

/**
 * The operator dashboard (static; public like any login page). It holds no data itself: the
 * browser calls /admin/* with the token the operator types in.
 */
export function dashboard(request: Request, pathname: string): Response | null {
  if (pathname !== "/dashboard" && !pathname.startsWith("/dashboard/")) return null;
  const asset = ASSETS[pathname];
  if (!asset) return new Response("no such dashboard file", { status: 404, headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" } });
  if (request.method !== "GET" && request.method !== "HEAD") return new Response(null, { status: 405, headers: { allow: "GET, HEAD" } });
  return new Response(asset.body, {
    headers: {
      ...PAGE_HEADERS,
      "content-type": asset.type,
      "cache-control": "no-cache",
    },
  });
}
