import { z } from "zod";

/** How urgent an alert is (PagerDuty's severities, minus "error"). */
export const SEVERITIES = ["info", "warning", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const ALERT_KINDS = ["cutover.rollback", "run.attention", "job.failed", "job.stalled", "gate.stale", "sync.lag", "reverse.pending", "test"] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/** A condition that holds now; the alert store turns its start and its end into events. */
export interface Condition {
  /** Stable while the condition lasts: the dedup key (PagerDuty's `dedup_key`). */
  key: string;
  kind: AlertKind;
  severity: Severity;
  summary: string;
  details: Record<string, unknown>;
}

/** What leaves the system: the start ("trigger") or the end ("resolve") of a condition, or a test message. */
export interface AlertEvent {
  id: string;
  key: string;
  kind: AlertKind;
  severity: Severity;
  action: "trigger" | "resolve";
  summary: string;
  details: Record<string, unknown>;
  at: string;
}

export const CHANNEL_KINDS = ["webhook", "slack", "pagerduty"] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/** PagerDuty's Events API v2 endpoint, the default of a pagerduty channel. */
export const PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue";

const name = z.string().trim().min(1, "is required").max(100);
const url = z.string().max(2_048).url("must be an absolute URL");
const minSeverity = z.enum(SEVERITIES).default("warning");

/**
 * A channel as the operator sends it. The secret part (the webhook's HMAC key, the Slack webhook
 * URL, the PagerDuty routing key) is stored encrypted and never shown again.
 */
export const channelInputSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("webhook"), name, url, secret: z.string().min(16, "must be at least 16 characters").max(256), minSeverity }).strict(),
  z.object({ kind: z.literal("slack"), name, url, minSeverity }).strict(),
  z
    .object({
      kind: z.literal("pagerduty"),
      name,
      routingKey: z.string().regex(/^[A-Za-z0-9]{32}$/, "must be a 32-character Events API v2 integration key"),
      url: url.default(PAGERDUTY_EVENTS_URL),
      minSeverity,
    })
    .strict(),
]);
export type ChannelInput = z.output<typeof channelInputSchema>;

/** What a channel keeps sealed (secrets.ts): where it posts (a webhook or Slack URL may carry a token) and its key. */
export interface ChannelSecret {
  url: string;
  /** The webhook's HMAC key, the PagerDuty routing key; empty for Slack (its URL is the secret). */
  key: string;
}

export function channelSecret(input: ChannelInput): ChannelSecret {
  return { url: input.url, key: input.kind === "webhook" ? input.secret : input.kind === "pagerduty" ? input.routingKey : "" };
}

/** Where a channel posts, as the API shows it: PagerDuty's events URL whole, any other only its origin. */
export function shownTarget(input: ChannelInput): string {
  return input.kind === "pagerduty" ? input.url : `${new URL(input.url).origin}/…`;
}

/** A channel as stored: where it sends (as shown), and its URL and key sealed (secrets.ts). */
export interface ChannelRecord {
  id: string;
  kind: ChannelKind;
  name: string;
  /** Where it posts, as shown (shownTarget): never a URL's path or query, which may hold a token. */
  target: string;
  sealed: string;
  minSeverity: Severity;
  createdAt: number;
}

/** A channel as the API shows it: never its secret. */
export function channelView(channel: ChannelRecord) {
  const { sealed: _sealed, createdAt, ...rest } = channel;
  return { ...rest, secret: "set" as const, createdAt: new Date(createdAt).toISOString() };
}

export function severityAtLeast(severity: Severity, floor: Severity): boolean {
  return SEVERITIES.indexOf(severity) >= SEVERITIES.indexOf(floor);
}

/** A delivery to send: one event to one channel (the alert queue's message). */
export const deliveryMessageSchema = z.object({ eventId: z.string().uuid(), channelId: z.string().uuid() }).strict();
/** A gate serving a state it could not refresh (gate.ts): it cannot reach the coordinator, so it says so through the queue. */
export const signalMessageSchema = z.object({ signal: z.literal("gate.stale"), at: z.number().int().nonnegative() }).strict();
export const alertMessageSchema = z.union([deliveryMessageSchema, signalMessageSchema]);
export type DeliveryMessage = z.output<typeof deliveryMessageSchema>;
export type AlertMessage = z.output<typeof alertMessageSchema>;
