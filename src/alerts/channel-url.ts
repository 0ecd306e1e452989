import type { Env } from "../env";

/**
 * Where a channel may post: https only; plain http only with ALERT_ALLOW_HTTP = "true" (a local
 * receiver in development and tests). No credentials in the URL. Returns why not, or null.
 */
export function checkChannelUrl(raw: string, env: Pick<Env, "ALERT_ALLOW_HTTP">): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "must be an absolute URL";
  }
  if (url.username || url.password) return "must not carry credentials";
  if (url.protocol === "https:") return null;
  if (url.protocol === "http:" && env.ALERT_ALLOW_HTTP === "true") return null;
  return "must be an https: URL";
}
