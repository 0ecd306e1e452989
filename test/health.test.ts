import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { health } from "../src/health";
import { CutoverStateCache } from "../src/cutover/state-cache";
import { INITIAL_CUTOVER } from "../src/cutover/state";
import type { Env } from "../src/env";

/** The environment with its coordinator binding counting every stub it hands out. */
function countingCoordinator(): { env: Env; stubs: () => number } {
  let stubs = 0;
  const namespace = new Proxy(env.COORDINATOR, {
    get(target, property, receiver) {
      if (property === "getByName" || property === "get") stubs++;
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { env: { ...env, COORDINATOR: namespace }, stubs: () => stubs };
}

describe("GET /health (public)", () => {
  it("does not call the coordinator per request: the state comes from the isolate's cache, read at most once per TTL", async () => {
    const counted = countingCoordinator();
    let reads = 0;
    const cache = new CutoverStateCache(async () => {
      reads++;
      return INITIAL_CUTOVER;
    }, 60_000);
    for (let i = 0; i < 30; i++) {
      const ctx = createExecutionContext();
      const res = await health(counted.env, ctx, cache);
      await waitOnExecutionContext(ctx);
      expect(res.status).toBe(200);
    }
    expect(counted.stubs()).toBe(0);
    expect(reads).toBe(1);
  });

  it("reports missing secrets as misconfiguration (503), and the new app answers 503 with a clear message instead of a 500", async () => {
    const broken = { ...env, JWT_SECRET: "" } as Env;
    const res = await health(broken, createExecutionContext(), new CutoverStateCache(async () => INITIAL_CUTOVER, 60_000));
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: "unhealthy", checks: { config: "JWT_SECRET is not set" } });

    const { app } = await import("../src/app");
    const login = await app(new Request("https://list-cutter.test/api/accounts/login/", { method: "POST", body: JSON.stringify({ username: "a", password: "b" }) }), broken, createExecutionContext());
    expect(login.status).toBe(503);
    expect((await login.json<{ detail: string }>()).detail).toMatch(/misconfigured/);

    // A work factor the app refuses is the same kind of problem: unhealthy, and a 503 for logins rather than a 500 each.
    const badFactor = { ...env, PASSWORD_ITERATIONS: "lots" } as Env;
    const sick = await health(badFactor, createExecutionContext(), new CutoverStateCache(async () => INITIAL_CUTOVER, 60_000));
    expect(sick.status).toBe(503);
    expect(((await sick.json()) as { checks: { config: string } }).checks.config).toMatch(/PASSWORD_ITERATIONS/);
    const loginWithBadFactor = await app(new Request("https://list-cutter.test/api/accounts/login/", { method: "POST", body: JSON.stringify({ username: "a", password: "b" }) }), badFactor, createExecutionContext());
    expect(loginWithBadFactor.status).toBe(503);

    const noAdmin = await worker.fetch(new Request("https://list-cutter.test/admin/jobs", { headers: { authorization: "Bearer x" } }), { ...env, ADMIN_TOKEN: "" } as Env, createExecutionContext());
    expect(noAdmin.status).toBe(503);
  });
});
