import { z } from "zod";
import type { BundleTable } from "../sync/reverse-bundle-format";

export const JOB_KINDS = ["full", "delta", "verify", "reverse"] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export const ACTIVE_STATES = ["planning", "copying", "verifying"] as const;
export type JobState = (typeof ACTIVE_STATES)[number] | "completed" | "completed_with_failures" | "failed" | "cancelled";

export const ITEM_STATES = ["pending", "leased", "done", "failed"] as const;
export type ItemState = (typeof ITEM_STATES)[number];

export const jobSettingsSchema = z
  .object({
    /** Items leased (sent and not yet reported) at once: the load the legacy origin sees. */
    maxInFlight: z.number().int().min(1).max(2000).default(64),
    /** Items per queue message. */
    batchSize: z.number().int().min(1).max(50).default(10),
    maxAttempts: z.number().int().min(1).max(20).default(5),
    /** Items dispatched per second at most. */
    ratePerSecond: z.number().int().min(1).max(10_000).default(500),
    /** How long a consumer may hold an item before it is handed out again. */
    leaseSeconds: z.number().int().min(5).max(3600).default(300),
    /** First retry delay; each later attempt doubles it (with jitter), capped at retryMaxMs. */
    retryBaseMs: z.number().int().min(0).max(600_000).default(2_000),
    retryMaxMs: z.number().int().min(0).max(3_600_000).default(300_000),
    /** Time allowed for one legacy download, body included. */
    fetchTimeoutMs: z.number().int().min(100).max(900_000).default(120_000),
    /** How long one planning step may run before it hands over to the next wake-up (ms; checked at each D1 round trip). */
    planStepMs: z.number().int().min(0).max(1_000).default(25),
    /** Downloads one consumer invocation runs at once. */
    consumerConcurrency: z.number().int().min(1).max(64).default(6),
  })
  .strict();
export type JobSettings = z.output<typeof jobSettingsSchema>;

export const exportSetName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "letters, digits, '.', '_' or '-', at most 64");

/**
 * POST /admin/jobs. full and delta jobs need `exportSet`; a reverse job takes none, and may take
 * `since` (an outbox sequence number; default: the highest toSeq reported applied, 0 if none).
 */
export const createJobSchema = z
  .object({
    kind: z.enum(JOB_KINDS),
    exportSet: exportSetName.optional(),
    since: z.number().int("must be an integer").min(0, "must be 0 or more").max(Number.MAX_SAFE_INTEGER).optional(),
    settings: jobSettingsSchema.partial().optional(),
  })
  .strict()
  .superRefine((v, ctx) => {
    if ((v.kind === "full" || v.kind === "delta") && v.exportSet === undefined) ctx.addIssue({ code: "custom", path: ["exportSet"], message: "is required for full and delta jobs" });
    if (v.kind === "reverse" && v.exportSet !== undefined) ctx.addIssue({ code: "custom", path: ["exportSet"], message: "is not allowed for reverse jobs" });
    if (v.kind !== "reverse" && v.since !== undefined) ctx.addIssue({ code: "custom", path: ["since"], message: "is only for reverse jobs" });
  });
export type CreateJobInput = z.input<typeof createJobSchema>;

/** Kinds whose items only re-read R2 objects (verify messages), with no copying phase. */
export function verifiesOnly(kind: JobKind): boolean {
  return kind === "verify" || kind === "reverse";
}

/** What a job is, as both the stored record and the operator's view carry it. */
export interface JobIdentity {
  id: string;
  kind: JobKind;
  state: JobState;
  paused: boolean;
  exportSet: string | null;
  settings: JobSettings;
  error: string | null;
}

export interface JobView extends JobIdentity {
  items: Record<ItemState, number> & { total: number };
  bytes: { total: number; done: number };
  users: { migrated: number };
  filters: { migrated: number };
  rowErrors: number;
  /** Conflicts this job met (open: not resolved yet); each is listed under its failures. */
  conflicts: { open: number; total: number };
  /** Rows this job inserted or took a field from legacy for (files: planned for insert, or merged). */
  legacyChanges: number;
  /** Export rows not imported because the new app deleted them (tombstones). */
  deletedOnNew: { files: number; filters: number };
  /** The oldest upload time of the export set's tables (full and delta jobs). */
  exportedAt: string | null;
  /** Alarm steps this job took and the longest (ms); how long planning took (ms); how many steps took at most each bound (ms). */
  steps: { count: number; maxMs: number; planningMs: number | null; atMostMs: Record<string, number>; byState: Record<string, { maxMs: number; atMostMs: Record<string, number> }> };
  throughput: { filesPerSecond: number; bytesPerSecond: number };
  eta: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  /** Reverse jobs: the outbox range (fromSeq, toSeq] the bundle covers, its rows per table. */
  fromSeq?: number;
  toSeq?: number;
  counts?: Record<BundleTable, number>;
  /** Reverse jobs: when the operator reported the bundle applied to legacy (null until then). */
  appliedAt?: string | null;
  appliedToSeq?: number | null;
  /** Reverse jobs, once applied: the rows marked in D1 as known to legacy, and whether all are. */
  roundTrip?: { marked: number; done: boolean } | null;
}

export interface Failure {
  kind: "item" | "row" | "conflict";
  fileId: string | null;
  table: string | null;
  line: number | null;
  source: string | null;
  reason: string;
  detail: string | null;
  attempts: number;
  /** For kind "conflict": resolve it with POST /admin/conflicts/<conflictId>/resolve. */
  conflictId: number | null;
}

/** Bounds of the job step-time histogram (JobView.steps.atMostMs). */
export const STEP_BOUNDS_MS = [5, 10, 25, 50, 100, 250, 500, 1000] as const;

/** Where a page of failures ended: in the bad rows (by table and line), the failed items (by file id) or the conflicts (by id). */
export const failureCursorSchema = z.discriminatedUnion("part", [
  z.object({ part: z.literal("row"), table: z.string().max(64), line: z.number().int().min(0) }).strict(),
  z.object({ part: z.literal("item"), fileId: z.string().max(200) }).strict(),
  z.object({ part: z.literal("conflict"), id: z.number().int().min(0) }).strict(),
]);
export type FailureCursor = z.output<typeof failureCursorSchema>;

/** One page of a job's failures (GET /admin/jobs/:id/failures). */
export interface FailurePage {
  failures: Failure[];
  /** Where the next page starts (`?after=`), null after the last; each page costs the same however deep. */
  next: FailureCursor | null;
  /** Failures matching the request's reason filter (all of them without one); on the first page (offset 0) only, else null. */
  total: number | null;
  /** Every failure of the job counted per reason, whatever the filter; on the first page only, else null. */
  byReason: Record<string, number> | null;
}

// ── import conflicts ─────────────────────────────────────────────────────────────────────────

export const CONFLICT_FIELDS = ["username", "email", "fields"] as const;
export type ConflictField = (typeof CONFLICT_FIELDS)[number];
export const CONFLICT_STATES = ["open", "resolved"] as const;
export type ConflictState = (typeof CONFLICT_STATES)[number];

/** What each kind of conflict records. */
export interface ConflictDetails {
  /**
   * A legacy user's username is held in D1 by another user. `username` is the name it would be
   * imported under (after any rename-legacy), `legacyUsername` legacy's; `imported`: whether the
   * legacy user is in D1 (only its username change is held back) or not imported at all.
   */
  username: { legacyUserId: number; legacyUsername: string; username: string; heldBy: { id: number; legacyId: number | null }; imported: boolean };
  /** A legacy user imported for the first time has the email (any case) of a new-app user. */
  email: { legacyUserId: number; email: string; heldBy: { id: number; username: string } };
  /** Fields changed on both sides, to different values: the new app's kept. */
  fields: { fields: Record<string, { base: unknown; local: unknown; remote: unknown }> };
}

export interface ConflictView {
  id: number;
  table: string;
  rowKey: string;
  field: ConflictField;
  reason: string;
  state: ConflictState;
  summary: string;
  detail: ConflictDetails[ConflictField];
  resolution: unknown;
  /** Jobs that met it, oldest first. */
  jobIds: string[];
  createdAt: string;
  updatedAt: string;
  resolvedAt: string | null;
}

/** Registration's rule for usernames (accounts.ts). */
const username = z.string().trim().min(1, "is required").max(150, "at most 150 characters").regex(/^[\w.@+-]+$/, "letters, digits and @/./+/-/_ only");
const email = z.string().trim().max(254, "at most 254 characters").refine((v) => v === "" || z.email().safeParse(v).success, "is not a valid email address");

/**
 * POST /admin/conflicts/:id/resolve. Username conflicts: rename-new or rename-legacy with `username`;
 * email conflicts: the same with `email`, or keep-both; field conflicts: keep-new or keep-legacy.
 */
export const resolveConflictSchema = z
  .object({
    action: z.enum(["rename-new", "rename-legacy", "keep-new", "keep-legacy", "keep-both"]),
    username: username.optional(),
    email: email.optional(),
  })
  .strict();
export type ConflictResolution = z.output<typeof resolveConflictSchema>;

export const conflictListQuery = z.object({
  state: z.enum(CONFLICT_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(1_000).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

export interface SyncStatus {
  /** The newest full or delta job that completed (with or without failures). */
  lastSync: null | { jobId: string; kind: JobKind; state: JobState; finishedAt: string; exportedAt: string | null; legacyChanges: number };
  /** Now minus that job's exportedAt: how far behind legacy the new app may be. */
  lagSeconds: number | null;
}
