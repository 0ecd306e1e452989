// What each channel kind receives: Slack text escaped (data cannot mention @channel or forge a link),
// PagerDuty v2 triggers within its limits and resolves by dedup key only, webhooks signed over time and body.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hmacHex, outgoingRequest, pagerDutyEvent, SIGNATURE_HEADER, slackMessage } from "../../src/alerts/formats";
import type { AlertEvent } from "../../src/alerts/model";

const event = (over: Partial<AlertEvent> = {}): AlertEvent => ({ id: "e1", key: "job:j1", kind: "job.failed", severity: "critical", action: "trigger", summary: "The full job j1 failed", details: { jobId: "j1" }, at: "2026-11-25T12:00:00.000Z", ...over });

describe("alert formats", () => {
  it("Slack: every <, > and & from data is escaped, so no mention or link can be forged", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), (summary) => {
        const { text, blocks } = slackMessage(event({ summary: `failed: ${summary} <!channel> <https://evil.example|click>` }));
        expect(text).not.toMatch(/[<>]/);
        expect(text.length).toBeLessThanOrEqual(3_000);
        expect(blocks[0]!.text.text).toBe(text);
      }),
    );
  });

  it("PagerDuty: a trigger carries a summary of at most 1,024 characters; a resolve only its dedup key", () => {
    const trigger = pagerDutyEvent("k".repeat(32), event({ summary: "x".repeat(5_000) }));
    expect(trigger).toMatchObject({ event_action: "trigger", dedup_key: "job:j1", payload: { source: "list-cutter", severity: "critical", timestamp: "2026-11-25T12:00:00.000Z" } });
    expect((trigger as { payload: { summary: string } }).payload.summary).toHaveLength(1_024);
    expect(pagerDutyEvent("k".repeat(32), event({ action: "resolve" }))).toEqual({ routing_key: "k".repeat(32), event_action: "resolve", dedup_key: "job:j1" });
  });

  it("webhook: the signature is HMAC-SHA256 of '<t>.<body>' under the channel's secret, and changes with either", async () => {
    const now = Date.parse("2026-11-25T12:00:00Z");
    const request = await outgoingRequest("webhook", { url: "https://example.com/hook", key: "secret-0123456789" }, event(), now);
    expect(request.headers[SIGNATURE_HEADER]).toBe(`t=${now / 1000},v1=${await hmacHex("secret-0123456789", `${now / 1000}.${request.body}`)}`);
    expect(JSON.parse(request.body)).toEqual(event());
    const other = await outgoingRequest("webhook", { url: "https://example.com/hook", key: "another-secret-012" }, event(), now);
    expect(other.headers[SIGNATURE_HEADER]).not.toBe(request.headers[SIGNATURE_HEADER]);
    // Each goes to the channel's sealed URL.
    expect((await outgoingRequest("slack", { url: "https://hooks.slack.com/services/T/B/X", key: "" }, event(), now)).url).toBe("https://hooks.slack.com/services/T/B/X");
  });
});
