import { createExecutionContext, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { coordinator } from "../../src/env";
import { Gate } from "../../src/cutover/gate";
import { MetricsBuffer } from "../../src/cutover/metrics-buffer";
import { UserDirectory } from "../../src/cutover/user-directory";
import { CutoverStateCache } from "../../src/cutover/state-cache";
import { adminJson, patchCutover } from "../helpers";
import { controlPlane } from "../../src/relay/control-plane";

type Answer = (request: Request) => Promise<Response>;

/** A gate in front of a new app that answers with `answer`, flushing metrics every 20 requests. */
function gateWith(answer: Answer) {
  return new Gate(new CutoverStateCache(() => coordinator(env).getCutover(), 0), new MetricsBuffer(20, 60_000), new UserDirectory(env.DB), (request) => answer(request), controlPlane(env, null));
}

async function send(gate: Gate, count: number, make: (i: number) => Request) {
  for (let i = 0; i < count; i++) {
    const ctx = createExecutionContext();
    await (await gate.handle(make(i), env, ctx)).arrayBuffer();
    await waitOnExecutionContext(ctx);
  }
}

const real = (i: number) => new Request("https://list-cutter.test/api/list_cutter/list_saved_files/", { headers: { "cf-connecting-ip": `198.51.100.${(i % 200) + 1}` } });

describe("automatic rollback cannot be steered by traffic an anonymous client makes at will", () => {
  it("a flood of cheap 4xx (or of one client's 200s) does not dilute real 5xx into a pass", async () => {
    await patchCutover({ percent: 100, thresholds: { minRequests: 30, errorRate: 0.2, windowSeconds: 60, p95Ms: 60_000 } });
    const gate = gateWith(async (request) => {
      const path = new URL(request.url).pathname;
      if (path.startsWith("/api/nothing-here/")) return new Response("not found", { status: 404 });
      if (path === "/api/accounts/login/") return new Response("ok", { status: 200 });
      return new Response("broken", { status: 500 });
    });
    // Real users see 500s; meanwhile an attacker sends 400 requests answered 404, and one client 200 logins.
    for (let round = 0; round < 10; round++) {
      await send(gate, 4, (i) => real(round * 4 + i));
      await send(gate, 40, (i) => new Request(`https://list-cutter.test/api/nothing-here/${round}-${i}`, { headers: { "cf-connecting-ip": `192.0.2.${(i % 200) + 1}` } }));
      await send(gate, 20, () => new Request("https://list-cutter.test/api/accounts/login/", { method: "POST", body: "{}", headers: { "cf-connecting-ip": "192.0.2.250" } }));
      // The same from one host rotating its bucket cookie and its IPv6 address within its /64.
      await send(gate, 20, (i) => new Request("https://list-cutter.test/api/accounts/login/", { method: "POST", body: "{}", headers: { "cf-connecting-ip": `2001:db8:5::${i + 1}`, cookie: `lc_bucket=${(i * 10_000).toString(16).padStart(8, "0")}` } }));
    }
    await runDurableObjectAlarm(coordinator(env));
    const { body } = await adminJson("/admin/cutover");
    expect(body).toMatchObject({ phase: "rolled_back", percent: 0 });
  });

  it("slow uploads and deliberately slow logins do not make the p95 that rolls back", async () => {
    await patchCutover({ percent: 100, thresholds: { minRequests: 30, errorRate: 0.5, windowSeconds: 60, p95Ms: 40 } });
    const gate = gateWith(async (request) => {
      // A request with a body takes as long as its client makes it take.
      if (request.body) await new Promise((r) => setTimeout(r, 80));
      return new Response("ok", { status: 200 });
    });
    await send(gate, 40, (i) =>
      i % 2 === 0 ? real(i) : new Request("https://list-cutter.test/api/list_cutter/upload/", { method: "POST", body: "a,b\n", headers: { "cf-connecting-ip": `192.0.2.${i + 1}` } }),
    );
    await runDurableObjectAlarm(coordinator(env));
    expect((await adminJson("/admin/cutover")).body).toMatchObject({ phase: "cutover", percent: 100 });
    const metrics = await adminJson("/admin/metrics");
    expect(metrics.body.backends.workers.requests).toBeGreaterThanOrEqual(30);
    expect(metrics.body.backends.workers.p95Ms).toBeLessThan(40);
  });
});
