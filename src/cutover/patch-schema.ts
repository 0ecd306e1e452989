import { z } from "zod";
import { PHASES } from "./state";

/** What the operator API accepts to change the cutover state (PATCH /admin/cutover), checked by zod. */

const percent = z
  .number()
  .min(0)
  .max(100)
  .refine((n) => Math.abs(n * 100 - Math.round(n * 100)) < 1e-9, "at most two decimals");
const userIds = z.array(z.number().int().positive()).max(1000);
const ips = z.array(z.union([z.ipv4(), z.ipv6()])).max(1000);
const allowlist = z.object({ users: userIds.default([]), ips: ips.default([]) }).strict();

export const thresholdsSchema = z
  .object({
    /** 5xx share of the new backend's requests that triggers a rollback. */
    errorRate: z.number().min(0).max(1),
    /** p95 latency of the new backend (ms) that triggers a rollback. */
    p95Ms: z.number().int().min(1).max(600_000),
    /** Fewer requests than this in the window: no verdict (no rollback, no advance). */
    minRequests: z.number().int().min(1).max(1_000_000),
    windowSeconds: z.number().int().min(10).max(3600),
  })
  .strict();
export type Thresholds = z.output<typeof thresholdsSchema>;

export const planSchema = z
  .object({
    steps: z.array(percent).min(1).max(20).refine((s) => s.every((v, i) => i === 0 || v > s[i - 1]!), "must increase"),
    holdSeconds: z.number().int().min(1).max(86_400),
    /** Hold each step until the last full or delta sync's data is at most this old (see syncStatus). */
    maxSyncLagSeconds: z.number().int().min(1).max(30 * 86_400).optional(),
  })
  .strict();

export const cutoverPatchSchema = z
  .object({
    phase: z.enum(PHASES).optional(),
    percent: percent.optional(),
    maintenance: z
      .object({
        enabled: z.boolean(),
        message: z.string().max(500).optional(),
        retryAfterSeconds: z.number().int().min(1).max(86_400).optional(),
      })
      .strict()
      .optional(),
    allowlist: z.object({ new: allowlist.optional(), legacy: allowlist.optional() }).strict().optional(),
    thresholds: thresholdsSchema.partial().optional(),
    /** A canary plan: walk through `steps` (percent), holding each while analysis passes. null stops it. */
    plan: planSchema.nullable().optional(),
    /** null releases the users a rollback holds back on the new app (see CutoverState.holdBack). */
    holdBack: z.null().optional(),
  })
  .strict()
  .refine((p) => Object.keys(p).length > 0, { message: "nothing to change", path: ["body"] });
export type CutoverPatch = z.output<typeof cutoverPatchSchema>;
