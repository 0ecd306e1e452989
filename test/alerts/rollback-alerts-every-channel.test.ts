// An automatic rollback driven by an error storm reaches every channel kind at the local receiver: a
// webhook whose HMAC signature verifies (checked by the receiver with Node's crypto), a Slack-shaped
// message, a PagerDuty v2 trigger; when the operator moves the cutover on, the same dedup key resolves.
// Each is recorded once, in the alert list and in the audit log.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { coordinator } from "../../src/env";
import { Gate } from "../../src/cutover/gate";
import { MetricsBuffer } from "../../src/cutover/metrics-buffer";
import { UserDirectory } from "../../src/cutover/user-directory";
import { CutoverStateCache } from "../../src/cutover/state-cache";
import { controlPlane } from "../../src/relay/control-plane";
import { adminJson, patchCutover, waitForAudit } from "../helpers";
import { addEveryChannel, byPath, received, receivedUntil, resetAlertWorld, ROUTING_KEY } from "./receiver-client";

beforeEach(resetAlertWorld);

async function errorStorm(requests: number) {
  const gate = new Gate(new CutoverStateCache(() => coordinator(env).getCutover(), 0), new MetricsBuffer(25, 60_000), new UserDirectory(env.DB), async () => new Response("x", { status: 503 }), controlPlane(env, null));
  for (let i = 0; i < requests; i++) {
    const ctx = createExecutionContext();
    const res = await gate.handle(new Request("https://list-cutter.test/api/list_cutter/list_saved_files/", { headers: { "cf-connecting-ip": `198.51.100.${i % 250}` } }), env, ctx);
    await res.arrayBuffer();
    await waitOnExecutionContext(ctx);
  }
}

describe("an automatic rollback", () => {
  it("alerts every channel once, signed, Slack-shaped and as a PagerDuty trigger, then resolves with the same dedup key", async () => {
    await addEveryChannel();
    await patchCutover({ percent: 100, thresholds: { minRequests: 60, errorRate: 0.05, windowSeconds: 60 } });
    await errorStorm(75);
    expect((await adminJson("/admin/cutover")).body).toMatchObject({ phase: "rolled_back", updatedBy: "analysis" });

    const got = await receivedUntil((r) => byPath(r, "/webhook").length >= 1 && byPath(r, "/slack").length >= 1 && byPath(r, "/pagerduty").length >= 1);
    const [hook] = byPath(got, "/webhook");
    expect(hook!.signatureValid).toBe(true);
    expect(hook!.body).toMatchObject({ key: "cutover.rollback", kind: "cutover.rollback", severity: "critical", action: "trigger" });
    expect(hook!.eventId).toBe(hook!.body.id);
    const [slack] = byPath(got, "/slack");
    expect(slack!.body).toMatchObject({ text: expect.stringContaining("CRITICAL"), blocks: [{ type: "section", text: { type: "mrkdwn" } }] });
    const [page] = byPath(got, "/pagerduty");
    expect(page!.body).toMatchObject({ routing_key: ROUTING_KEY, event_action: "trigger", dedup_key: "cutover.rollback", payload: { severity: "critical", source: "list-cutter", summary: expect.stringContaining("rolled back automatically") } });

    // More errors while rolled back raise nothing new: the condition is the same.
    await errorStorm(30);
    const view = await adminJson("/admin/alerts");
    expect(view.body.firing.map((a: any) => a.key)).toEqual(["cutover.rollback"]);
    expect(view.body.events.filter((e: any) => e.key === "cutover.rollback")).toHaveLength(1);

    // The operator takes the cutover back to legacy: the condition clears, and its resolve goes out.
    await patchCutover({ phase: "legacy", percent: 0 });
    const after = await receivedUntil((r) => byPath(r, "/pagerduty").some((p) => p.body.event_action === "resolve"));
    expect(byPath(after, "/pagerduty").map((p) => [p.body.event_action, p.body.dedup_key])).toEqual([
      ["trigger", "cutover.rollback"],
      ["resolve", "cutover.rollback"],
    ]);
    await receivedUntil((r) => byPath(r, "/webhook").length === 2 && byPath(r, "/slack").length === 2);
    const hooks = byPath(await received(), "/webhook");
    expect(hooks.map((h) => [h.body.action, h.signatureValid])).toEqual([
      ["trigger", true],
      ["resolve", true],
    ]);
    expect((await adminJson("/admin/alerts")).body.firing).toEqual([]);

    const ofRollback = (rows: { action: string; target: string | null }[]) => rows.filter((a) => a.target === "cutover.rollback").map((a) => a.action);
    const audit = await waitForAudit("alert.%", (rows) => ofRollback(rows).includes("alert.resolve"));
    expect(ofRollback(audit)).toEqual(["alert.trigger", "alert.resolve"]);
  });
});
