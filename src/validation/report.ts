/**
 * The validation suite's report (src/validation/suite.ts). Only zod here: the CLI (scripts/validate.ts,
 * under Node) and the cutover run validate a report against this schema too.
 */
import { z } from "zod";

export const CHECK_GROUPS = ["authentication", "files", "processing", "integrity"] as const;
export type CheckGroup = (typeof CHECK_GROUPS)[number];

/** How many users and files are sampled: the default, and the most one run may take. */
export const DEFAULT_SAMPLE = 10;
export const MAX_SAMPLE = 100;

/** Failures listed per check at most; the detail says how many there were in all. */
export const MAX_LISTED_FAILURES = 20;

export const checkResultSchema = z
  .object({
    group: z.enum(CHECK_GROUPS),
    name: z.string().min(1),
    ok: z.boolean(),
    ms: z.number().nonnegative(),
    detail: z.string(),
    failures: z.array(z.string()).max(MAX_LISTED_FAILURES).optional(),
  })
  .strict();
export type CheckResult = z.output<typeof checkResultSchema>;

export const validationReportSchema = z
  .object({
    ok: z.boolean(),
    startedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime(),
    durationMs: z.number().nonnegative(),
    sample: z.number().int().min(1).max(MAX_SAMPLE),
    exportSet: z.string().nullable(),
    checks: z.array(checkResultSchema).min(1),
  })
  .strict()
  .refine((r) => r.ok === r.checks.every((c) => c.ok), { message: "ok must be true exactly when every check passed", path: ["ok"] });
export type ValidationReport = z.output<typeof validationReportSchema>;
