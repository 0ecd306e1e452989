import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { CutoverStateCache } from "../../src/cutover/state-cache";
import { INITIAL_CUTOVER, type CutoverState } from "../../src/cutover/state";
import { health } from "../../src/health";
import { afterCacheTtl, clearFaults, corpus, patchCutover, setFaults, sha256Hex, worker } from "../helpers";

afterEach(clearFaults);

describe("the gate when things go wrong", () => {
  it("keeps the last known state when the coordinator cannot be read, and /health says so", async () => {
    let reachable = true;
    const known: CutoverState = { ...INITIAL_CUTOVER, version: 9, phase: "canary", percent: 40 };
    const cache = new CutoverStateCache(async () => {
      if (!reachable) throw new Error("coordinator unreachable");
      return known;
    }, 0);
    const fresh = await (await health(env, undefined, cache)).json();
    expect(fresh).toMatchObject({ status: "healthy", checks: { cutoverState: "ok" }, cutover: { version: 9, percent: 40 } });
    reachable = false;
    const stale = await health(env, undefined, cache);
    expect(stale.status).toBe(200);
    expect(await stale.json()).toMatchObject({ status: "degraded", checks: { cutoverState: "stale" }, cutover: { version: 9, phase: "canary", percent: 40 } });
  });

  it("does not cut a request already in flight when maintenance starts", async () => {
    const file = (await corpus()).files.find((f) => !f.oversize && f.size > 48 * 1024)!;
    await setFaults([{ match: file.relativePath, kind: "slow", delayMs: 150 }]);
    const res = await worker(`/media/${file.relativePath}`);
    expect(res.headers.get("x-served-by")).toBe("legacy");
    await patchCutover({ maintenance: { enabled: true } });
    await afterCacheTtl();
    expect((await worker("/api/list_cutter/list_saved_files/")).status).toBe(503);
    expect(await sha256Hex(res.body!)).toBe(file.sha256);
    await patchCutover({ maintenance: { enabled: false } });
  });
});
