// A copying job as the coordinator stores it, for tests that drive the dispatcher or ledger directly.
import type { JobRecord } from "../../src/coordinator/jobs";
import { jobSettingsSchema, type JobSettings } from "../../src/coordinator/model";

export function copyingJob(settings: Partial<JobSettings> = {}): JobRecord {
  return {
    id: crypto.randomUUID(),
    kind: "full",
    state: "copying",
    paused: false,
    exportSet: "x",
    settings: jobSettingsSchema.parse({ maxInFlight: 2000, ratePerSecond: 10_000, ...settings }),
    error: null,
    plan: { step: "done" },
    counters: { usersMigrated: 0, filtersMigrated: 0 },
    createdAt: 0,
    updatedAt: 0,
    startedAt: 0,
    finishedAt: null,
  };
}
