// Where a channel may post: https only (plain http only where ALERT_ALLOW_HTTP says so, for a local
// receiver), never with credentials, and a PagerDuty routing key only to PagerDuty's Events API.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkChannelUrl } from "../../src/alerts/channel-url";

const deployed = { ALERT_ALLOW_HTTP: "false" };
const local = { ALERT_ALLOW_HTTP: "true" };

describe("channel URLs", () => {
  it("are https, without credentials; http only for a local receiver", () => {
    expect(checkChannelUrl("https://ops.example/hook?token=x", deployed, "webhook")).toBeNull();
    expect(checkChannelUrl("http://ops.example/hook", deployed, "webhook")).toMatch(/https/);
    expect(checkChannelUrl("http://127.0.0.1:9/hook", local, "webhook")).toBeNull();
    expect(checkChannelUrl("https://u:p@ops.example/hook", deployed, "slack")).toMatch(/credentials/);
    for (const bad of ["ftp://ops.example/", "file:///etc/passwd", "javascript:alert(1)", "data:text/plain,x", "/relative", ""]) {
      expect(checkChannelUrl(bad, local, "webhook"), bad).not.toBeNull();
    }
  });

  it("send a PagerDuty routing key to PagerDuty's Events API only", () => {
    expect(checkChannelUrl("https://events.pagerduty.com/v2/enqueue", deployed, "pagerduty")).toBeNull();
    expect(checkChannelUrl("https://events.eu.pagerduty.com/v2/enqueue", deployed, "pagerduty")).toBeNull();
    for (const bad of ["https://events.pagerduty.com.evil.example/v2/enqueue", "https://evil.example/events.pagerduty.com", "https://pagerduty.com/v2/enqueue"]) {
      expect(checkChannelUrl(bad, deployed, "pagerduty"), bad).toMatch(/PagerDuty/);
    }
    fc.assert(fc.property(fc.webUrl({ validSchemes: ["https"] }), (url) => {
      const host = new URL(url).hostname;
      expect(checkChannelUrl(url, deployed, "pagerduty") === null).toBe(host === "events.pagerduty.com" || host === "events.eu.pagerduty.com");
    }));
  });
});
