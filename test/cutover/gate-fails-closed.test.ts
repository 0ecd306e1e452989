import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Gate } from "../../src/cutover/gate";
import { MetricsBuffer } from "../../src/cutover/metrics-buffer";
import { UserDirectory } from "../../src/cutover/user-directory";
import { CutoverStateCache } from "../../src/cutover/state-cache";
import { INITIAL_CUTOVER, type CutoverState } from "../../src/cutover/state";
import { originStats, resetOriginStats } from "../helpers";

describe("a gate that has never read the cutover state", () => {
  it("serves maintenance (503, Retry-After), never legacy, until the state has been read once", async () => {
    let reachable = false;
    const gate = new Gate(
      new CutoverStateCache(async () => {
        if (!reachable) throw new Error("coordinator unreachable");
        return { ...INITIAL_CUTOVER, version: 3 } satisfies CutoverState;
      }, 0),
      new MetricsBuffer(), new UserDirectory(env.DB),
      async () => new Response("new app"),
    );
    await resetOriginStats();
    const ctx = createExecutionContext();
    const res = await gate.handle(new Request("https://list-cutter.test/api/list_cutter/upload/", { method: "POST", body: "a,b\n1,2\n" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(res.headers.get("x-served-by")).toBe("workers");
    expect(await res.json()).toMatchObject({ error: "maintenance" });
    expect((await originStats()).requests).toBe(0);

    reachable = true;
    const after = await gate.handle(new Request("https://list-cutter.test/api/list_cutter/list_saved_files/"), env, createExecutionContext());
    expect(after.headers.get("x-served-by")).toBe("legacy");
  });
});
