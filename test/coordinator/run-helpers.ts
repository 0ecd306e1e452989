import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { coordinator } from "../../src/env";
import { Gate } from "../../src/cutover/gate";
import { MetricsBuffer } from "../../src/cutover/metrics-buffer";
import { CutoverStateCache } from "../../src/cutover/state-cache";
import { UserDirectory } from "../../src/cutover/user-directory";
import type { RunView } from "../../src/coordinator/cutover-run-view";
import { adminJson, newUser, postJson, worker } from "../helpers";
import { controlPlane } from "../../src/relay/control-plane";

export type Run = RunView;

export async function getRun(): Promise<{ status: number; body: Run }> {
  return adminJson<Run>("/admin/cutover/run");
}

export function startRun(plan: unknown): Promise<{ status: number; body: any }> {
  return postJson("/admin/cutover/run", plan);
}

export function runAction(action: string, body: unknown = {}): Promise<{ status: number; body: any }> {
  return postJson(`/admin/cutover/run/${action}`, body);
}

/** Polls the run, calling `onPoll` each time (to play the operator or the users), until `until` holds. */
export async function waitForRun(until: (run: Run) => boolean, onPoll: (run: Run) => Promise<void> = async () => {}, timeoutMs = 100_000): Promise<Run> {
  const deadline = Date.now() + timeoutMs;
  let run: Run | undefined;
  while (Date.now() < deadline) {
    const { status, body } = await getRun();
    if (status !== 200) throw new Error(`GET /admin/cutover/run answered ${status}: ${JSON.stringify(body)}`);
    run = body;
    if (until(run)) return run;
    await onPoll(run);
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`the run did not get there in ${timeoutMs} ms; last seen: ${JSON.stringify(run, null, 1)}`);
}

export const finished = (run: Run) => run.state !== "running";

/** An address the tests allowlist onto the new app, so that the canary analysis sees their traffic. */
export const CANARY_CLIENT = "203.0.113.77";

let canaryToken: Promise<string> | undefined;

/**
 * Requests through the real Worker that the canary analysis counts (4xx answers are not counted):
 * a user of the new app (always served by it) listing their files.
 */
export async function newAppTraffic(count: number): Promise<void> {
  canaryToken ??= newUser(`canary-traffic-${crypto.randomUUID().slice(0, 8)}`).then((u) => u.access);
  const token = await canaryToken;
  for (let i = 0; i < count; i++) {
    const res = await worker("/api/list_cutter/list_saved_files/", { headers: { authorization: `Bearer ${token}`, "cf-connecting-ip": CANARY_CLIENT } });
    await res.arrayBuffer();
  }
}

/** A gate in front of a "new app" that fails every request, flushing metrics every `flushEvery` requests. */
export async function failingNewApp(count: number, status = 503): Promise<void> {
  const gate = new Gate(new CutoverStateCache(() => coordinator(env).getCutover(), 0), new MetricsBuffer(10, 60_000), new UserDirectory(env.DB), async () => new Response("down", { status }), controlPlane(env, null));
  for (let i = 0; i < count; i++) {
    const ctx = createExecutionContext();
    const res = await gate.handle(new Request("https://list-cutter.test/api/list_cutter/list_saved_files/", { headers: { "cf-connecting-ip": CANARY_CLIENT } }), env, ctx);
    await res.arrayBuffer();
    await waitOnExecutionContext(ctx);
  }
}
