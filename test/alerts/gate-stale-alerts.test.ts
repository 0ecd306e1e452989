// A gate that serves a cutover state it has not refreshed for five cache TTLs reports it through the
// alert queue (it cannot reach the coordinator's read path, so it does not use it): the operator hears
// gate.stale once, however many requests the isolate serves meanwhile; a single failed read is not reported.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { coordinator } from "../../src/env";
import { Gate } from "../../src/cutover/gate";
import { MetricsBuffer } from "../../src/cutover/metrics-buffer";
import { UserDirectory } from "../../src/cutover/user-directory";
import { CutoverStateCache } from "../../src/cutover/state-cache";
import { controlPlane } from "../../src/relay/control-plane";
import { TEST_CUTOVER_TTL_MS } from "../config";
import { adminJson, postJson } from "../helpers";
import { RECEIVER_SECRET } from "./receiver";
import { receivedUntil, receiverUrl, resetAlertWorld } from "./receiver-client";

beforeEach(resetAlertWorld);

describe("a gate serving a stale cutover state", () => {
  it("raises gate.stale once through the alert queue", async () => {
    expect((await postJson("/admin/alerts/channels", { kind: "webhook", name: "hook", url: `${receiverUrl}/webhook`, secret: RECEIVER_SECRET })).status).toBe(201);
    let reads = 0;
    const cache = new CutoverStateCache(async () => {
      if (reads++ > 0) throw new Error("coordinator unreachable");
      return coordinator(env).getCutover();
    }, 0);
    const gate = new Gate(cache, new MetricsBuffer(1_000, 60_000), new UserDirectory(env.DB), async () => new Response("new"), controlPlane(env, null));
    const serve = async () => {
      const ctx = createExecutionContext();
      const res = await gate.handle(new Request("https://list-cutter.test/api/list_cutter/list_saved_files/"), env, ctx);
      expect(res.headers.get("x-served-by")).toBe("legacy");
      await res.arrayBuffer();
      await waitOnExecutionContext(ctx);
    };
    // One failed read is not reported: the state must go unrefreshed for five cache TTLs.
    await serve();
    await serve();
    expect(cache.peek().stale).toBe(true);
    await new Promise((r) => setTimeout(r, 5 * TEST_CUTOVER_TTL_MS + 100));
    for (let i = 0; i < 10; i++) {
      await serve();
    }

    const got = await receivedUntil((r) => r.some((x) => x.body?.kind === "gate.stale"));
    expect(got.filter((x) => x.body?.kind === "gate.stale")).toEqual([expect.objectContaining({ signatureValid: true, body: expect.objectContaining({ key: "gate.stale", severity: "warning", action: "trigger" }) })]);
    expect((await adminJson("/admin/alerts")).body.firing.map((a: any) => a.key)).toEqual(["gate.stale"]);
  });
});
