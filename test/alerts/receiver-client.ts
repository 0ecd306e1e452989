// The alert tests' side of the local receiver (test/alerts/receiver.ts): switch it, read what it got,
// and add one channel of each kind pointing at it.
import { inject } from "vitest";
import { eventually, postJson, resetPrimaryCoordinator } from "../helpers";
import { RECEIVER_SECRET, type Received } from "./receiver";

export const receiverUrl = inject("alertReceiver");
export const ROUTING_KEY = "R0123456789abcdefghijklmnopqrstu".slice(0, 32);

export async function receiverMode(mode: "up" | "down" | "hang" | "reject"): Promise<void> {
  await fetch(`${receiverUrl}/__mode`, { method: "POST", body: JSON.stringify({ mode }) });
}

export async function received(clear = false): Promise<Received[]> {
  return (await fetch(`${receiverUrl}/__received`, { method: clear ? "DELETE" : "GET" })).json();
}

/** Polls the receiver until `done` holds for what it got (at most `ms`). */
export function receivedUntil(done: (got: Received[]) => boolean, ms = 20_000): Promise<Received[]> {
  return eventually("the receiver", () => received(), done, ms, 200);
}

/** A webhook, a Slack and a PagerDuty channel, all posting to the receiver (paths tell them apart). */
export async function addEveryChannel(minSeverity = "warning"): Promise<{ webhook: string; slack: string; pagerduty: string }> {
  const add = async (body: unknown) => {
    const { status, body: channel } = await postJson("/admin/alerts/channels", body);
    if (status !== 201) throw new Error(`channel not added: ${status} ${JSON.stringify(channel)}`);
    return channel.id as string;
  };
  return {
    webhook: await add({ kind: "webhook", name: "ops webhook", url: `${receiverUrl}/webhook`, secret: RECEIVER_SECRET, minSeverity }),
    slack: await add({ kind: "slack", name: "ops slack", url: `${receiverUrl}/slack/T000/B000/XXXX`, minSeverity }),
    pagerduty: await add({ kind: "pagerduty", name: "ops pager", routingKey: ROUTING_KEY, url: `${receiverUrl}/pagerduty`, minSeverity }),
  };
}

export const byPath = (got: Received[], prefix: string) => got.filter((r) => r.path.startsWith(prefix) && r.status >= 200 && r.status < 300);

/** Each alert test starts from an empty primary coordinator and a receiver that is up and has received nothing. */
export async function resetAlertWorld(): Promise<void> {
  await resetPrimaryCoordinator();
  await receiverMode("up");
  await received(true);
}
