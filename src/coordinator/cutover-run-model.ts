import { z } from "zod";
import { planSchema, thresholdsSchema } from "../cutover/patch-schema";
import { exportSetName, jobSettingsSchema } from "./model";

/**
 * A cutover run: the whole switch from legacy to the new app as one durable sequence of stages that
 * the coordinator drives (cutover-run.ts). Each stage has an entry, an exit condition, a timeout and
 * a failure action; this table is what the operator reads in GET /admin/cutover/run.
 */
export const STAGES = ["copy", "canary", "maintenance", "final_delta", "verify", "validate", "switch", "maintenance_off", "watch"] as const;
export type StageName = (typeof STAGES)[number];

/** pause: the run stops and waits for an operator (resume, skip-stage or abort); rollback: users go back to legacy and the run ends. */
export type FailureAction = "pause" | "rollback";

export interface StageRule {
  enters: string;
  exits: string;
  onFailure: FailureAction;
  /** Default timeout; the plan's `timeouts` may change it. */
  timeoutSeconds: number;
}

export const STAGE_RULES: Record<StageName, StageRule> = {
  copy: { enters: "no other job is active: a full job on the plan's exportSet starts", exits: "the full job is completed (no failures)", onFailure: "pause", timeoutSeconds: 7 * 86_400 },
  canary: {
    enters: "the plan's canary steps and thresholds are set",
    exits: "the last step has held for holdSeconds with a healthy verdict and a sync fresher than maxSyncLagSeconds (a delta job starts whenever a newer complete export set is uploaded; the stage ends once it has finished)",
    onFailure: "pause",
    timeoutSeconds: 14 * 86_400,
  },
  maintenance: { enters: "maintenance is switched on: every user sees the maintenance page, legacy takes no more writes", exits: "at once", onFailure: "rollback", timeoutSeconds: 300 },
  final_delta: {
    enters: "waits for an export set whose tables were all uploaded after maintenance began, then starts a delta job on it",
    exits: "the delta job is completed (no failures)",
    onFailure: "rollback",
    timeoutSeconds: 3_600,
  },
  verify: { enters: "a verify job starts", exits: "the verify job is completed (no failures)", onFailure: "rollback", timeoutSeconds: 3_600 },
  validate: { enters: "the validation suite runs against the new app", exits: "every check passes (the report is kept with the run)", onFailure: "rollback", timeoutSeconds: 900 },
  switch: { enters: "percent is set to 100 (still in maintenance)", exits: "at once", onFailure: "rollback", timeoutSeconds: 300 },
  maintenance_off: { enters: "maintenance is switched off: every user is on the new app (phase cutover)", exits: "at once", onFailure: "rollback", timeoutSeconds: 300 },
  watch: {
    enters: "the new app serves everyone; the analysis watches it",
    exits: "watchSeconds have passed without a rollback: the cutover is marked complete",
    onFailure: "rollback",
    timeoutSeconds: 30 * 86_400,
  },
};

const RUN_STATES = ["running", "paused", "completed", "rolled_back", "failed", "aborted"] as const;
export type RunState = (typeof RUN_STATES)[number];
export const FINISHED_RUN_STATES: readonly RunState[] = ["completed", "rolled_back", "failed", "aborted"];

export const STAGE_STATES = ["pending", "running", "done", "skipped", "failed"] as const;
export type StageState = (typeof STAGE_STATES)[number];

const canarySchema = planSchema.refine((p) => p.steps.every((s) => s > 0 && s < 100), { message: "canary steps must be between 0 and 100 (exclusive): 100 % comes after maintenance and validation", path: ["steps"] });

/** POST /admin/cutover/run */
export const runPlanSchema = z
  .object({
    /** The export set the full copy imports. */
    exportSet: exportSetName,
    canary: canarySchema,
    thresholds: thresholdsSchema.partial().optional(),
    /** How long the new app serves everyone, watched, before the cutover is marked complete. */
    watchSeconds: z.number().int().min(1).max(30 * 86_400).default(3_600),
    validation: z.object({ sample: z.number().int().min(1).max(100).default(10) }).strict().default({ sample: 10 }),
    /** Per-stage timeouts in seconds, overriding STAGE_RULES. */
    timeouts: z.partialRecord(z.enum(STAGES), z.number().int().min(1).max(30 * 86_400)).default({}),
    /** Settings for the jobs the run starts (full, delta, verify). */
    jobSettings: jobSettingsSchema.partial().default({}),
  })
  .strict()
  .superRefine((plan, ctx) => {
    // A plan whose own waits outlast their stage's timeout would fail a healthy cutover.
    const timeout = (stage: StageName) => plan.timeouts[stage] ?? STAGE_RULES[stage].timeoutSeconds;
    if (plan.watchSeconds >= timeout("watch")) ctx.addIssue({ code: "custom", path: ["watchSeconds"], message: `must be shorter than the watch stage's timeout (${timeout("watch")} s)` });
    const holds = plan.canary.steps.length * plan.canary.holdSeconds;
    if (holds >= timeout("canary")) ctx.addIssue({ code: "custom", path: ["canary", "holdSeconds"], message: `the steps' holds (${holds} s) must be shorter than the canary stage's timeout (${timeout("canary")} s)` });
  });
export type RunPlan = z.output<typeof runPlanSchema>;
export type RunPlanInput = z.input<typeof runPlanSchema>;

export const runControlSchema = z.discriminatedUnion("action", [
  z.object({ action: z.literal("pause"), reason: z.string().trim().min(1).max(500).optional() }).strict(),
  z.object({ action: z.literal("resume") }).strict(),
  /** `stage` must be the stage in force: a skip meant for one stage never lands on the next. */
  z.object({ action: z.literal("skip"), stage: z.enum(STAGES), reason: z.string().trim().min(1, "is required").max(500) }).strict(),
  z.object({ action: z.literal("abort"), reason: z.string().trim().min(1).max(500).optional() }).strict(),
]);
export type RunControl = z.output<typeof runControlSchema>;

export interface StageRecord {
  name: StageName;
  state: StageState;
  startedAt: number | null;
  endedAt: number | null;
  /** Jobs this stage started, oldest first. */
  jobIds: string[];
  /** Why it failed or was skipped, or what it did. */
  note: string | null;
  /** final_delta: the export set it took. */
  exportSet?: string | null;
  /** What the stage waited for at its last check (null once it ended). */
  waitingFor: string | null;
  /** A job whose failures the operator accepted by resuming the run (its failures stay in its report). */
  acceptedJobId?: string | null;
  /** When the stage's timeout starts counting: its start, or the operator's last resume. */
  timerFrom?: number | null;
}

export interface RunRecord {
  id: string;
  state: RunState;
  plan: RunPlan;
  stages: StageRecord[];
  /** Why the run wants an operator (a failure that paused it), null when it does not. */
  attention: string | null;
  /** The validation suite's report, once run (validation/report.ts). */
  validation: unknown;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
  actor: string;
}
