import { z } from "zod";

export const JOB_KINDS = ["full", "delta", "verify"] as const;
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
    /** Downloads one consumer invocation runs at once. */
    consumerConcurrency: z.number().int().min(1).max(64).default(6),
  })
  .strict();
export type JobSettings = z.output<typeof jobSettingsSchema>;

export const exportSetName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, "letters, digits, '.', '_' or '-', at most 64");

export const createJobSchema = z
  .object({
    kind: z.enum(JOB_KINDS),
    exportSet: exportSetName.optional(),
    settings: jobSettingsSchema.partial().optional(),
  })
  .strict()
  .refine((v) => v.kind === "verify" || v.exportSet !== undefined, { path: ["exportSet"], message: "is required for full and delta jobs" });
export type CreateJobInput = z.input<typeof createJobSchema>;

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
  /** Alarm steps this job took and the longest (ms); how long planning took (ms). */
  steps: { count: number; maxMs: number; planningMs: number | null };
  throughput: { filesPerSecond: number; bytesPerSecond: number };
  eta: number | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface Failure {
  kind: "item" | "row";
  fileId: string | null;
  table: string | null;
  line: number | null;
  source: string | null;
  reason: string;
  detail: string | null;
  attempts: number;
}
