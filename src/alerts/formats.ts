import type { AlertEvent, ChannelKind, ChannelSecret } from "./model";
import { toHex } from "../lib/hex";

/** The header carrying a webhook's signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = "x-list-cutter-signature";
export const EVENT_ID_HEADER = "x-list-cutter-event";
/** PagerDuty truncates nothing for us: its summary is limited to 1,024 characters. */
const PAGERDUTY_SUMMARY_CHARS = 1_024;
const SLACK_TEXT_CHARS = 3_000;

export interface OutgoingRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** The request that delivers `event` to a channel of `kind`, from its unsealed URL and key. */
export async function outgoingRequest(kind: ChannelKind, { url, key }: ChannelSecret, event: AlertEvent, now: number): Promise<OutgoingRequest> {
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "list-cutter-alerts/1", [EVENT_ID_HEADER]: event.id };
  if (kind === "slack") return { url, headers, body: JSON.stringify(slackMessage(event)) };
  if (kind === "pagerduty") return { url, headers, body: JSON.stringify(pagerDutyEvent(key, event)) };
  const body = JSON.stringify(event);
  const t = Math.floor(now / 1000);
  return { url, headers: { ...headers, [SIGNATURE_HEADER]: `t=${t},v1=${await hmacHex(key, `${t}.${body}`)}` }, body };
}

export async function hmacHex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return toHex(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(message)));
}

/**
 * Slack's incoming-webhook format. Text that came from data (a job's error, a stage's note) is
 * escaped as Slack asks (&, <, >), so it cannot mention @channel or forge a link.
 */
export function slackMessage(event: AlertEvent) {
  const mark = event.action === "resolve" ? "Resolved" : event.severity === "critical" ? "CRITICAL" : event.severity === "warning" ? "Warning" : "Info";
  const text = `${mark}: ${slackEscape(event.summary)} (${event.kind}, ${event.key})`.slice(0, SLACK_TEXT_CHARS);
  return { text, blocks: [{ type: "section", text: { type: "mrkdwn", text } }] };
}

export function slackEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** PagerDuty Events API v2: a trigger with its payload, or a resolve of the same dedup key. */
export function pagerDutyEvent(routingKey: string, event: AlertEvent) {
  if (event.action === "resolve") return { routing_key: routingKey, event_action: "resolve", dedup_key: event.key };
  return {
    routing_key: routingKey,
    event_action: "trigger",
    dedup_key: event.key,
    payload: {
      summary: event.summary.slice(0, PAGERDUTY_SUMMARY_CHARS),
      source: "list-cutter",
      severity: event.severity,
      timestamp: event.at,
      component: event.kind,
      custom_details: event.details,
    },
  };
}
