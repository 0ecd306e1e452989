// Alert channels through the operator API: a malformed configuration is a 400 naming the field, a
// secret (webhook key and URL, Slack URL, PagerDuty routing key) is sealed and never shown again, and a channel
// can be removed (a test message to it is then a 404).
import fc from "fast-check";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { admin, adminJson, postJson, resetPrimaryCoordinator } from "../helpers";

beforeEach(resetPrimaryCoordinator);

const WEBHOOK_SECRET = "s3cret-webhook-key-do-not-show";
const SLACK_URL = "https://hooks.slack.com/services/T000/B000/SLACKSECRETPATH";
const ROUTING_KEY = "PDKEY0123456789abcdefghijklmnopq".slice(0, 32);

describe("alert channels", () => {
  it("refuse a malformed configuration with a 400 naming the field", async () => {
    const cases: [unknown, string][] = [
      [{ name: "x", url: "https://example.com/h", secret: WEBHOOK_SECRET }, "kind"],
      [{ kind: "email", name: "x", url: "https://example.com/h" }, "kind"],
      [{ kind: "webhook", name: "x", url: "not a url", secret: WEBHOOK_SECRET }, "url"],
      [{ kind: "webhook", name: "x", url: "https://example.com/h", secret: "short" }, "secret"],
      [{ kind: "webhook", name: "", url: "https://example.com/h", secret: WEBHOOK_SECRET }, "name"],
      [{ kind: "webhook", name: "x", url: "ftp://example.com/h", secret: WEBHOOK_SECRET }, "url"],
      [{ kind: "webhook", name: "x", url: "https://user:pw@example.com/h", secret: WEBHOOK_SECRET }, "url"],
      [{ kind: "webhook", name: "x", url: "https://example.com/h", secret: WEBHOOK_SECRET, minSeverity: "urgent" }, "minSeverity"],
      [{ kind: "webhook", name: "x", url: "https://example.com/h", secret: WEBHOOK_SECRET, extra: 1 }, "extra"],
      [{ kind: "pagerduty", name: "x", routingKey: "too-short" }, "routingKey"],
      [{ kind: "slack", name: "x" }, "url"],
    ];
    for (const [body, field] of cases) {
      const answer = await postJson("/admin/alerts/channels", body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.field, JSON.stringify(body)).toBe(field);
    }
    const notJson = await admin("/admin/alerts/channels", { method: "POST", body: "{", headers: { "content-type": "application/json" } });
    expect(notJson.status).toBe(400);
    expect((await adminJson("/admin/alerts")).body.channels).toEqual([]);
  });

  it("never answer anything that is not a 201 or a 400 for generated bodies", async () => {
    await fc.assert(
      fc.asyncProperty(fc.record({ kind: fc.constantFrom("webhook", "slack", "pagerduty", "x"), name: fc.string({ maxLength: 120 }), url: fc.oneof(fc.webUrl(), fc.string()), secret: fc.string({ maxLength: 300 }), routingKey: fc.string({ maxLength: 40 }) }, { requiredKeys: [] }), async (body) => {
        const { status, body: answer } = await postJson("/admin/alerts/channels", body);
        expect([201, 400], JSON.stringify(answer)).toContain(status);
        if (status === 400) expect(typeof answer.field).toBe("string");
      }),
      { numRuns: 60 },
    );
  });

  it("keep secrets sealed: never echoed by the API, the audit log or storage in the clear", async () => {
    const added = await Promise.all([
      postJson("/admin/alerts/channels", { kind: "webhook", name: "hook", url: "https://example.com/alerts?token=HOOKTOKEN", secret: WEBHOOK_SECRET }),
      postJson("/admin/alerts/channels", { kind: "slack", name: "slack", url: SLACK_URL }),
      postJson("/admin/alerts/channels", { kind: "pagerduty", name: "pager", routingKey: ROUTING_KEY, minSeverity: "critical" }),
    ]);
    for (const a of added) expect(a.status).toBe(201);
    const listed = JSON.stringify((await adminJson("/admin/alerts")).body) + JSON.stringify(added.map((a) => a.body));
    for (const secret of [WEBHOOK_SECRET, "SLACKSECRETPATH", ROUTING_KEY, "HOOKTOKEN"]) expect(listed).not.toContain(secret);
    expect(added[0]!.body).toMatchObject({ kind: "webhook", target: "https://example.com/…", secret: "set" });
    const slack = added[1]!.body;
    expect(slack).toMatchObject({ kind: "slack", target: "https://hooks.slack.com/…", secret: "set" });
    expect(added[2]!.body).toMatchObject({ kind: "pagerduty", target: "https://events.pagerduty.com/v2/enqueue", minSeverity: "critical" });
    const audit = JSON.stringify((await env.DB.prepare(`SELECT * FROM audit_logs WHERE action LIKE 'alert.%'`).all()).results);
    expect(audit).toContain("alert.channel.add");
    for (const secret of [WEBHOOK_SECRET, "SLACKSECRETPATH", ROUTING_KEY, "HOOKTOKEN"]) expect(audit).not.toContain(secret);

    const removed = await adminJson(`/admin/alerts/channels/${slack.id}`, { method: "DELETE" });
    expect(removed).toMatchObject({ status: 200, body: { removed: slack.id } });
    expect(await postJson(`/admin/alerts/channels/${slack.id}/test`, {})).toMatchObject({ status: 404 });
    expect((await adminJson(`/admin/alerts/channels/${slack.id}`, { method: "DELETE" })).status).toBe(404);
    expect((await adminJson("/admin/alerts")).body.channels.map((c: any) => c.kind)).toEqual(["webhook", "pagerduty"]);
  });
});
