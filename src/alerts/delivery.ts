import type { Env } from "../env";
import { coordinator, positiveVar } from "../env";
import { outgoingRequest } from "./formats";
import { alertMessageSchema, deliveryMessageSchema, type AlertEvent, type ChannelRecord, type ChannelSecret } from "./model";
import { open } from "./secrets";
import { checkChannelUrl } from "./channel-url";

/** How long one delivery may take: a receiver that hangs holds a consumer, never the gate or the coordinator. */
const DELIVERY_TIMEOUT_MS = 10_000;
const RETRY_MAX_SECONDS = 3_600;

/**
 * The alert queue's consumer: each message is one event for one channel. A delivery the coordinator
 * already has as delivered is not sent again (so a redelivered message does not alert twice); a
 * failed one is retried by the queue with exponential backoff, and after max_retries lands in the
 * dead-letter queue (handleDeadAlerts), which records it.
 */
export async function handleAlertBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  await Promise.all(batch.messages.map((message) => deliverMessage(message, env)));
}

async function deliverMessage(message: Message<unknown>, env: Env): Promise<void> {
  const parsed = alertMessageSchema.safeParse(message.body);
  if (!parsed.success) {
    console.error(`alert queue: dropping malformed message ${message.id}`);
    message.ack();
    return;
  }
  const stub = coordinator(env);
  if ("signal" in parsed.data) {
    try {
      await stub.gateStale(parsed.data.at);
      message.ack();
    } catch (e) {
      console.error("the coordinator could not take a stale-state report; retried:", e);
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts, env) });
    }
    return;
  }
  const { eventId, channelId } = parsed.data;
  try {
    // The event's details are JSON, which the RPC types cannot express.
    const work = (await stub.alertDelivery(eventId, channelId)) as unknown as { event: AlertEvent; channel: ChannelRecord } | null;
    if (!work) {
      message.ack();
      return;
    }
    const outcome = await send(env, work.event, work.channel);
    await stub.alertAttempted(eventId, channelId, outcome?.error ?? null);
    if (outcome === null) message.ack();
    else if (outcome.permanent) {
      // No retry can fix it (the receiver refused the request itself, or the channel cannot be used): dead now.
      await stub.alertDead(eventId, channelId);
      message.ack();
    } else message.retry({ delaySeconds: retryDelaySeconds(message.attempts, env) });
  } catch (e) {
    console.error(`alert delivery ${eventId} → ${channelId} failed:`, e);
    message.retry({ delaySeconds: retryDelaySeconds(message.attempts, env) });
  }
}

/** Deliveries the queue gave up on: recorded as dead, with the last error their attempts left (retried while the coordinator cannot take it). */
export async function handleDeadAlerts(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const stub = coordinator(env);
  for (const message of batch.messages) {
    const parsed = deliveryMessageSchema.safeParse(message.body);
    try {
      if (parsed.success) await stub.alertDead(parsed.data.eventId, parsed.data.channelId);
      message.ack();
    } catch (e) {
      console.error(`recording dead alert delivery ${message.id} failed; retried:`, e);
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts, env) });
    }
  }
}

export interface DeliveryFailure {
  /** What the operator sees (GET /admin/alerts, the dashboard): never a URL or a secret. */
  error: string;
  /** A retry cannot help: a 4xx other than 408 and 429, or a channel that cannot be used. */
  permanent: boolean;
}

/** Sends one event; null when the receiver took it (2xx), else why not. Redirects are not followed. */
export async function send(env: Env, event: AlertEvent, channel: ChannelRecord, now = Date.now()): Promise<DeliveryFailure | null> {
  let secret: ChannelSecret;
  try {
    secret = JSON.parse(await open(env.ALERT_SECRETS_KEY, channel.id, channel.sealed));
  } catch {
    return { error: "the channel's secret cannot be opened: ALERT_SECRETS_KEY is missing or not the one it was sealed with; add the channel again", permanent: true };
  }
  const refused = checkChannelUrl(secret.url, env, channel.kind);
  if (refused) return { error: `not sent: the URL ${refused}`, permanent: true };
  const request = await outgoingRequest(channel.kind, secret, event, now);
  try {
    const response = await fetch(request.url, { method: "POST", headers: request.headers, body: request.body, redirect: "manual", signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS) });
    await response.body?.cancel();
    if (response.ok) return null;
    const { status } = response;
    return { error: `HTTP ${status}`, permanent: status >= 300 && status < 500 && status !== 408 && status !== 429 };
  } catch (e) {
    // Only the error's kind: a runtime message may quote the URL, which for Slack is the secret.
    const timedOut = e instanceof Error && (e.name === "TimeoutError" || e.name === "AbortError");
    return { error: timedOut ? `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s` : `network error (${e instanceof Error ? e.name : "unknown"})`, permanent: false };
  }
}

export function retryDelaySeconds(attempts: number, env: Pick<Env, "ALERT_RETRY_SECONDS">): number {
  const base = Math.max(1, positiveVar(env.ALERT_RETRY_SECONDS, 30));
  return Math.min(RETRY_MAX_SECONDS, base * 2 ** Math.max(0, attempts - 1));
}

