import { refuse, type Outcome } from "../lib/outcome";
import type { CutoverPatch, Thresholds } from "./patch-schema";

/**
 * The cutover state: owned by the MigrationCoordinator, changed only through the operator API (or
 * by the coordinator's own analysis), read by every isolate's gate through a short-lived cache.
 */

export const PHASES = ["legacy", "canary", "maintenance", "cutover", "complete", "rolled_back"] as const;
export type Phase = (typeof PHASES)[number];

/** Which phase may follow which. `complete` is final: the legacy side may be gone. */
const TRANSITIONS: Record<Phase, readonly Phase[]> = {
  legacy: ["canary", "maintenance", "cutover"],
  canary: ["legacy", "maintenance", "cutover", "rolled_back"],
  maintenance: ["legacy", "canary", "cutover", "rolled_back"],
  cutover: ["canary", "maintenance", "complete", "rolled_back"],
  rolled_back: ["legacy", "canary", "maintenance", "cutover"],
  complete: [],
};

export function canMove(from: Phase, to: Phase): boolean {
  return from === to || TRANSITIONS[from].includes(to);
}

/** Phases during which the coordinator watches the new backend and may roll back on its own. */
export const ANALYSED_PHASES: readonly Phase[] = ["canary", "cutover"];

export interface CanaryPlan {
  steps: number[];
  holdSeconds: number;
  /** A step is left only while the last sync's data is at most this old (null: no such condition). */
  maxSyncLagSeconds?: number | null;
  /** Index of the step in force. */
  index: number;
  stepStartedAt: number;
  /** Held by a paused cutover run: the step is not left (the analysis may still roll back). */
  paused?: boolean;
}

export interface CutoverState {
  version: number;
  phase: Phase;
  percent: number;
  maintenance: { enabled: boolean; message: string; retryAfterSeconds: number };
  allowlist: { new: { users: number[]; ips: string[] }; legacy: { users: number[]; ips: string[] } };
  thresholds: Thresholds;
  plan: CanaryPlan | null;
  /**
   * Set by a rollback: users with new-app writes after `afterSeq` (the outbox sequence the last
   * applied reverse sync covered) stay on the new app, where their changes are, until a reverse
   * sync covering them is applied on legacy. null: nobody is held back (also for states stored
   * before this field existed).
   */
  holdBack?: { afterSeq: number; since: string } | null;
  updatedAt: string;
  updatedBy: string;
}

export const INITIAL_CUTOVER: CutoverState = {
  version: 0,
  phase: "legacy",
  percent: 0,
  maintenance: { enabled: false, message: "List Cutter is being upgraded. Please try again in a few minutes.", retryAfterSeconds: 120 },
  allowlist: { new: { users: [], ips: [] }, legacy: { users: [], ips: [] } },
  thresholds: { errorRate: 0.05, p95Ms: 1000, minRequests: 50, windowSeconds: 60 },
  plan: null,
  holdBack: null,
  updatedAt: new Date(0).toISOString(),
  updatedBy: "initial",
};

/**
 * Applies an operator's change. Without an explicit phase, the phase follows the change: maintenance
 * on → maintenance; otherwise the percent decides (0 legacy, 100 cutover, between canary).
 */
export function applyPatch(current: CutoverState, patch: CutoverPatch, actor: string, now: number): Outcome<CutoverState> {
  if (current.phase === "complete") return refuse(409, "the cutover is complete; nothing can change", "phase");
  const next: CutoverState = structuredClone(current);
  if (patch.percent !== undefined) next.percent = patch.percent;
  if (patch.maintenance) next.maintenance = { ...next.maintenance, ...definedOnly(patch.maintenance) };
  if (patch.allowlist?.new) next.allowlist.new = { users: patch.allowlist.new.users ?? [], ips: patch.allowlist.new.ips ?? [] };
  if (patch.allowlist?.legacy) next.allowlist.legacy = { users: patch.allowlist.legacy.users ?? [], ips: patch.allowlist.legacy.ips ?? [] };
  if (patch.thresholds) next.thresholds = { ...next.thresholds, ...definedOnly(patch.thresholds) };
  // The operator's override: release everyone held back, whose unsynced writes then stay on the new app only.
  if (patch.holdBack === null) next.holdBack = null;
  if (patch.plan === null) next.plan = null;
  if (patch.plan) {
    next.plan = { steps: patch.plan.steps, holdSeconds: patch.plan.holdSeconds, maxSyncLagSeconds: patch.plan.maxSyncLagSeconds ?? null, index: 0, stepStartedAt: now };
    next.percent = patch.plan.steps[0]!;
  }
  const phase = patch.phase ?? derivedPhase(current, next);
  if (!canMove(current.phase, phase)) {
    return refuse(409, `cannot move from phase ${current.phase} to ${phase}`, "phase");
  }
  if (phase === "complete" && (next.percent !== 100 || next.maintenance.enabled)) {
    return refuse(409, "complete needs percent 100 and maintenance off", "phase");
  }
  next.phase = phase;
  next.version = current.version + 1;
  next.updatedAt = new Date(now).toISOString();
  next.updatedBy = actor;
  return { ok: true, value: next };
}

function derivedPhase(current: CutoverState, next: CutoverState): Phase {
  if (next.maintenance.enabled) return "maintenance";
  if (next.percent === current.percent && current.phase !== "maintenance") return current.phase;
  if (next.percent === 0) return current.phase === "rolled_back" ? "rolled_back" : "legacy";
  return next.percent === 100 ? "cutover" : "canary";
}

/**
 * The state after a rollback: everyone back on legacy, the plan stopped, except the users whose
 * new-app writes after `appliedSeq` (what reverse syncs applied on legacy so far) are not there yet.
 * `endMaintenance`: maintenance off too (a cutover run rolling back from its maintenance stages).
 */
export function rolledBack(current: CutoverState, actor: string, now: number, appliedSeq: number, endMaintenance = false): CutoverState {
  const holdBack = current.holdBack ?? { afterSeq: appliedSeq, since: new Date(now).toISOString() };
  const next = structuredClone(current);
  if (endMaintenance) next.maintenance.enabled = false;
  return {
    ...next,
    phase: "rolled_back",
    percent: 0,
    plan: null,
    holdBack: { ...holdBack, afterSeq: Math.max(holdBack.afterSeq, appliedSeq) },
    version: current.version + 1,
    updatedAt: new Date(now).toISOString(),
    updatedBy: actor,
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
