// A receiver that is down, then up: the alert arrives once, later (the queue retries with backoff); one
// that hangs holds a queue consumer only: the gate and the operator API answer meanwhile. What the queue
// gives up on is recorded dead by the dead-letter consumer.
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { handleDeadAlerts } from "../../src/alerts/delivery";
import { adminJson, eventually, postJson, worker } from "../helpers";
import { RECEIVER_SECRET } from "./receiver";
import { received, receivedUntil, receiverMode, receiverUrl, resetAlertWorld } from "./receiver-client";

beforeEach(resetAlertWorld);

async function webhook(): Promise<string> {
  const { status, body } = await postJson("/admin/alerts/channels", { kind: "webhook", name: "hook", url: `${receiverUrl}/webhook`, secret: RECEIVER_SECRET, minSeverity: "info" });
  expect(status).toBe(201);
  return body.id;
}

const delivery = async (eventId: string) => (await adminJson("/admin/alerts")).body.events.find((e: any) => e.id === eventId)?.deliveries[0];

describe("a receiver that is down", () => {
  it("gets the alert once it is back up, exactly once", async () => {
    const channel = await webhook();
    await receiverMode("down");
    const test = await postJson(`/admin/alerts/channels/${channel}/test`, {});
    expect(test.status).toBe(202);
    const { eventId } = test.body;

    // Refused twice (503), each attempt recorded with its error.
    await receivedUntil((r) => r.filter((x) => x.eventId === eventId && x.status === 503).length >= 2);
    expect(await delivery(eventId)).toMatchObject({ channelId: channel, state: "sent", lastError: "HTTP 503" });

    await receiverMode("up");
    const got = await receivedUntil((r) => r.some((x) => x.eventId === eventId && x.status === 200), 30_000);
    const accepted = got.filter((x) => x.eventId === eventId && x.status === 200);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!).toMatchObject({ signatureValid: true, body: { kind: "test", severity: "info", action: "trigger" } });
    // The consumer records the attempt once the receiver's answer is back, a moment after it was received.
    const settled = await eventually("the delivery", () => delivery(eventId), (d) => d?.state === "delivered");
    expect(settled).toMatchObject({ state: "delivered", lastError: null });
    expect(settled.attempts).toBeGreaterThanOrEqual(3);

    // Nothing more arrives for it: the queue acknowledged the message, and a redelivery would find it delivered.
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await received()).filter((x) => x.eventId === eventId && x.status === 200)).toHaveLength(1);
  });

  it("that hangs holds a consumer, not the gate or the coordinator", async () => {
    const channel = await webhook();
    await receiverMode("hang");
    const { eventId } = (await postJson(`/admin/alerts/channels/${channel}/test`, {})).body;
    await receivedUntil((r) => r.some((x) => x.eventId === eventId));
    // While the delivery waits on the receiver (it has not been answered), requests through the gate
    // and the operator API are served.
    for (let i = 0; i < 20; i++) {
      const res = await worker("/api/list_cutter/list_saved_files/", { headers: { "cf-connecting-ip": `198.51.100.${i}` } });
      expect(res.headers.get("x-served-by")).toBe("legacy");
      await res.arrayBuffer();
    }
    expect((await adminJson("/admin/cutover")).status).toBe(200);
    expect(await delivery(eventId)).toMatchObject({ state: "sent", attempts: 0 });
    await receiverMode("up");
  });
});

describe("a receiver that refuses the request itself (400)", () => {
  it("is not retried: the delivery is dead at once, with its error", async () => {
    const channel = await webhook();
    await receiverMode("reject");
    const { eventId } = (await postJson(`/admin/alerts/channels/${channel}/test`, {})).body;
    await receivedUntil((r) => r.some((x) => x.eventId === eventId));
    const dead = await eventually("the delivery", () => delivery(eventId), (d) => d?.state === "dead");
    expect(dead).toMatchObject({ state: "dead", attempts: 1, lastError: "HTTP 400" });
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await received()).filter((x) => x.eventId === eventId)).toHaveLength(1);
    await receiverMode("up");
  });
});

describe("the alert dead-letter queue", () => {
  it("records a delivery the queue gave up on as dead, and a later copy of its message changes nothing", async () => {
    const channel = await webhook();
    await receiverMode("down");
    const { eventId } = (await postJson(`/admin/alerts/channels/${channel}/test`, {})).body;
    await receivedUntil((r) => r.some((x) => x.eventId === eventId && x.status === 503));
    // The attempt is recorded before the dead letter arrives, as the queue would have it: a dead delivery takes no more attempts.
    await eventually("the delivery", () => delivery(eventId), (d) => d?.lastError === "HTTP 503");

    for (const id of ["m1", "m1-again"]) {
      const batch = createMessageBatch("alert-deliveries-dlq", [{ id, timestamp: new Date(), attempts: 11, body: { eventId, channelId: channel } }]);
      await handleDeadAlerts(batch, env);
      expect((await getQueueResult(batch, createExecutionContext())).explicitAcks).toEqual([id]);
    }
    expect(await delivery(eventId)).toMatchObject({ state: "dead", lastError: "HTTP 503" });
    const audit = await env.DB.prepare(`SELECT action FROM audit_logs WHERE action = 'alert.delivery_dead' AND target = ?`).bind(`channel:${channel}`).all();
    expect(audit.results).toHaveLength(1);
    await receiverMode("up");
  });
});
