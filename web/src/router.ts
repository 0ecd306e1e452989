// Client-side routing with the History API: same-origin links and navigate() change the path without
// a reload; each navigation renders its page into a fresh view and moves focus to its main heading.
import { announce, clearStatus, h } from "./dom";

export interface PageContext {
  params: Record<string, string>;
  query: URLSearchParams;
  /** Aborted when the user navigates away: pending requests stop, late answers are dropped. */
  signal: AbortSignal;
}

/** Renders into `view`; must create its <h1> before its first await (the router focuses it). */
export type Page = (view: HTMLElement, ctx: PageContext) => void | Promise<void>;

export interface Route {
  path: string;
  page: Page;
  /** "user": signed-in users only; "guest": signed-out users only (login, register). */
  access?: "user" | "guest" | "any";
}

interface CompiledRoute extends Route {
  pattern: RegExp;
  keys: string[];
}

export interface RouterOptions {
  routes: Route[];
  notFound: Page;
  main: HTMLElement;
  signedIn: () => boolean;
  /** Called before each page renders (the header's navigation). */
  onNavigate: (path: string) => void;
  /** An error a page did not handle. */
  onError: (error: unknown) => void;
}

let options: RouterOptions;
let compiled: CompiledRoute[] = [];
let current: AbortController | null = null;

function compile(route: Route): CompiledRoute {
  const keys: string[] = [];
  const source = route.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:(\w+)/g, (_, key: string) => {
    keys.push(key);
    return "([^/]+)";
  });
  return { ...route, keys, pattern: new RegExp(`^${source}/?$`) };
}

export function startRouter(opts: RouterOptions): void {
  options = opts;
  compiled = opts.routes.map(compile);
  // Back and forward are navigations too; only the first page of a visit keeps the focus where the browser put it.
  window.addEventListener("popstate", () => void render(true));
  document.addEventListener("click", followLink);
  void render(false);
}

/** Goes to `path` (a same-origin path with its query), optionally saying `message` there. */
export function navigate(path: string, { replace = false, message }: { replace?: boolean; message?: string } = {}): void {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  void render(true, message);
}

/** `next` from a query, if it is a path on this site (never another origin). */
export function safeNext(query: URLSearchParams, fallback: string): string {
  const next = query.get("next");
  if (!next?.startsWith("/")) return fallback;
  // Resolved as the browser would (tabs and newlines dropped, backslashes as slashes): only this origin's paths pass.
  const url = new URL(next, location.origin);
  return url.origin === location.origin ? url.pathname + url.search + url.hash : fallback;
}

function followLink(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const a = (event.target as Element | null)?.closest?.("a");
  if (!a || a.target || a.hasAttribute("download") || a.origin !== location.origin) return;
  // In-page links (the skip link) keep their default behaviour.
  if (a.pathname === location.pathname && a.search === location.search && a.hash) return;
  event.preventDefault();
  navigate(a.pathname + a.search);
}

async function render(moveFocus: boolean, message?: string): Promise<void> {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const path = location.pathname;
  const match = matchRoute(path);
  const route = match?.route;
  if (route?.access === "user" && !options.signedIn()) return navigate(`/login?next=${encodeURIComponent(path + location.search)}`, { replace: true, message });
  if (route?.access === "guest" && options.signedIn()) return navigate("/files", { replace: true, message });

  if (message) announce(message);
  else clearStatus();
  options.onNavigate(path);
  const view = h("div", { class: "view" });
  options.main.replaceChildren(view);
  const ctx: PageContext = { params: match?.params ?? {}, query: new URLSearchParams(location.search), signal: controller.signal };
  const done = (route?.page ?? options.notFound)(view, ctx);
  const heading = view.querySelector("h1");
  if (heading) {
    heading.tabIndex = -1;
    document.title = `${heading.textContent} — List Cutter`;
    if (moveFocus) heading.focus();
  }
  try {
    await done;
  } catch (error) {
    if (!controller.signal.aborted) options.onError(error);
  }
}

function matchRoute(path: string): { route: CompiledRoute; params: Record<string, string> } | null {
  for (const route of compiled) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    try {
      return { route, params: Object.fromEntries(route.keys.map((key, i) => [key, decodeURIComponent(m[i + 1]!)])) };
    } catch {
      return null; // a malformed %-escape: no such page
    }
  }
  return null;
}
