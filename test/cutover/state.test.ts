import { describe, expect, it } from "vitest";
import { cutoverPatchSchema } from "../../src/cutover/patch-schema";
import { applyPatch, INITIAL_CUTOVER, type CutoverState } from "../../src/cutover/state";

const patch = (state: CutoverState, body: unknown) => applyPatch(state, cutoverPatchSchema.parse(body), "tester", 1_000);

describe("cutover state changes", () => {
  it("derives the phase from the change and bumps the version", () => {
    const canary = patch(INITIAL_CUTOVER, { percent: 12.5 });
    expect(canary).toMatchObject({ ok: true, value: { phase: "canary", percent: 12.5, version: 1, updatedBy: "tester" } });
    if (!canary.ok) return;
    const maintenance = patch(canary.value, { maintenance: { enabled: true, message: "syncing" } });
    expect(maintenance).toMatchObject({ ok: true, value: { phase: "maintenance", maintenance: { enabled: true, message: "syncing", retryAfterSeconds: 120 } } });
    if (!maintenance.ok) return;
    const full = patch(maintenance.value, { maintenance: { enabled: false }, percent: 100 });
    expect(full).toMatchObject({ ok: true, value: { phase: "cutover", percent: 100, version: 3 } });
    if (!full.ok) return;
    const done = patch(full.value, { phase: "complete" });
    expect(done).toMatchObject({ ok: true, value: { phase: "complete" } });
    if (!done.ok) return;
    expect(patch(done.value, { percent: 0 })).toMatchObject({ ok: false, status: 409 });
  });

  it("refuses impossible moves", () => {
    expect(patch(INITIAL_CUTOVER, { phase: "complete" })).toMatchObject({ ok: false, status: 409, field: "phase" });
    expect(patch(INITIAL_CUTOVER, { phase: "rolled_back" })).toMatchObject({ ok: false, status: 409 });
  });

  it.each([
    [{ percent: 100.01 }, "percent"],
    [{ percent: -1 }, "percent"],
    [{ percent: 12.345 }, "percent"],
    [{ percent: "50" }, "percent"],
    [{ phase: "sideways" }, "phase"],
    [{ allowlist: { new: { users: [0] } } }, "allowlist"],
    [{ allowlist: { new: { ips: ["not-an-ip"] } } }, "allowlist"],
    [{ thresholds: { errorRate: 2 } }, "thresholds"],
    [{ plan: { steps: [50, 25], holdSeconds: 60 } }, "plan"],
    [{ turbo: true }, ""],
    [{}, "body"],
  ])("rejects %j", (body, path) => {
    const parsed = cutoverPatchSchema.safeParse(body);
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.path.join(".")).toContain(path);
  });
});
