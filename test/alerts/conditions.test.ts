// Which conditions hold for a given state of the coordinator: one example each way per kind (the
// store, not this, dedups them: alerts-fire-once.test.ts).
import { describe, expect, it } from "vitest";
import { conditions, type AlertSnapshot } from "../../src/alerts/conditions";
import { INITIAL_CUTOVER } from "../../src/cutover/state";

const NOW = Date.parse("2026-11-25T12:00:00Z");
const quiet: AlertSnapshot = { now: NOW, cutover: INITIAL_CUTOVER, jobs: [], stalls: [], stallMs: 900_000, run: null, sync: { lagSeconds: null, maxLagSeconds: 3_600 }, gateStaleAt: null, gateStaleMs: 120_000, reversePending: null };
const job = (over: Partial<AlertSnapshot["jobs"][number]>) => ({ id: "j1", kind: "full", exportSet: "s", state: "completed", paused: false, error: null, finishedAt: NOW - 1_000, failed: 0, ...over });
const keys = (s: Partial<AlertSnapshot>) => conditions({ ...quiet, ...s }).map((c) => `${c.key}/${c.severity}`);

describe("alert conditions", () => {
  it("hold for nothing in a quiet system", () => {
    expect(keys({})).toEqual([]);
  });

  it("a rollback: critical when the analysis or a failing run stage made it, a warning when an operator did", () => {
    expect(keys({ cutover: { ...INITIAL_CUTOVER, phase: "rolled_back", updatedBy: "analysis" } })).toEqual(["cutover.rollback/critical"]);
    expect(keys({ cutover: { ...INITIAL_CUTOVER, phase: "rolled_back", updatedBy: "run:5b0d6f3e" } })).toEqual(["cutover.rollback/critical"]);
    expect(keys({ cutover: { ...INITIAL_CUTOVER, phase: "rolled_back", updatedBy: "operator:alice" } })).toEqual(["cutover.rollback/warning"]);
  });

  it("reverse sync pending while users are held back after a rollback", () => {
    const held = { ...INITIAL_CUTOVER, phase: "legacy" as const, holdBack: { afterSeq: 10, since: "2026-11-25T11:00:00Z" } };
    expect(keys({ cutover: held, reversePending: 4 })).toEqual(["reverse.pending/warning"]);
    expect(keys({ cutover: held, reversePending: 0 })).toEqual([]);
  });

  it("a cutover run that asks for an operator", () => {
    expect(keys({ run: { id: "r1", stage: "verify", attention: "the verify job failed" } })).toEqual(["run:r1/critical"]);
    expect(keys({ run: { id: "r1", stage: "verify", attention: null } })).toEqual([]);
  });

  it("the newest job of a kind that failed or completed with failures, not one a later job superseded, nor an old one", () => {
    expect(keys({ jobs: [job({ state: "failed", error: "boom" })] })).toEqual(["job:j1/critical"]);
    expect(keys({ jobs: [job({ state: "completed_with_failures", failed: 3 })] })).toEqual(["job:j1/warning"]);
    expect(keys({ jobs: [job({ id: "j2" }), job({ state: "failed" })] })).toEqual([]);
    expect(keys({ jobs: [job({ id: "v", kind: "verify" }), job({ state: "failed" })] })).toEqual(["job:j1/critical"]);
    expect(keys({ jobs: [job({ state: "failed", finishedAt: NOW - 8 * 86_400_000 })] })).toEqual([]);
  });

  it("a job without progress for the stall time", () => {
    expect(keys({ stalls: [{ jobId: "j1", state: "copying", since: NOW - 900_000 }] })).toEqual(["job:j1:stalled/warning"]);
    expect(keys({ stalls: [{ jobId: "j1", state: "copying", since: NOW - 899_000 }] })).toEqual([]);
  });

  it("gates serving a stale state, until reports stop for gateStaleMs", () => {
    expect(keys({ gateStaleAt: NOW - 1_000 })).toEqual(["gate.stale/warning"]);
    expect(keys({ gateStaleAt: NOW - 120_000 })).toEqual([]);
  });

  it("sync lag over the plan's limit, or the default, during a canary only", () => {
    const canary = { ...INITIAL_CUTOVER, phase: "canary" as const, percent: 10 };
    expect(keys({ cutover: canary, sync: { lagSeconds: 3_601, maxLagSeconds: 3_600 } })).toEqual(["sync.lag/warning"]);
    expect(keys({ cutover: canary, sync: { lagSeconds: 3_600, maxLagSeconds: 3_600 } })).toEqual([]);
    const planned = { ...canary, plan: { steps: [10, 50], holdSeconds: 60, maxSyncLagSeconds: 600, index: 0, stepStartedAt: NOW } };
    expect(keys({ cutover: planned, sync: { lagSeconds: 601, maxLagSeconds: 3_600 } })).toEqual(["sync.lag/warning"]);
    expect(keys({ sync: { lagSeconds: 99_999, maxLagSeconds: 3_600 } })).toEqual([]);
  });
});
