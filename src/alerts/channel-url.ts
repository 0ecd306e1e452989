import type { Env } from "../env";
import type { ChannelKind } from "./model";

/** PagerDuty's Events API hosts (US and EU service regions): a routing key is sent nowhere else. */
const PAGERDUTY_HOSTS = ["events.pagerduty.com", "events.eu.pagerduty.com"];

/**
 * Where a channel may post: https only; plain http only with ALERT_ALLOW_HTTP = "true" (a local
 * receiver in development and tests, which may then also stand in for PagerDuty). No credentials in
 * the URL. Returns why not, or null.
 */
export function checkChannelUrl(raw: string, env: Pick<Env, "ALERT_ALLOW_HTTP">, kind: ChannelKind): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "must be an absolute URL";
  }
  if (url.username || url.password) return "must not carry credentials";
  const local = env.ALERT_ALLOW_HTTP === "true";
  if (url.protocol !== "https:" && !(url.protocol === "http:" && local)) return "must be an https: URL";
  if (kind === "pagerduty" && !local && !PAGERDUTY_HOSTS.includes(url.hostname)) return `must be PagerDuty's Events API (${PAGERDUTY_HOSTS.join(" or ")})`;
  return null;
}
