// A batch of consumer reports is applied together (the successes as one statement): whatever the mix of
// successes, failures, duplicates, stale attempts and unknown items, the ledger ends as if each report
// had been applied on its own, a success winning over a failure of the same item in the batch.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ItemReport } from "../../src/copy/messages";
import { TRANSIENT_REASONS } from "../../src/copy/messages";
import { Ledger } from "../../src/coordinator/ledger";
import { jobSettingsSchema } from "../../src/coordinator/model";

const ITEMS = 8;
const settings = jobSettingsSchema.parse({ maxAttempts: 3 });
const fileId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

const report = fc.record({
  item: fc.integer({ min: 0, max: ITEMS + 1 }), // the last two are unknown to the job
  done: fc.boolean(),
  attempt: fc.constantFrom(1, 2),
  reason: fc.constantFrom("network" as const, "too_large" as const),
});

describe("a batch of reports", () => {
  it("leaves the ledger as one-by-one application would", async () => {
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName("reports-together-test"));
    await runInDurableObject(stub, (_i, state) =>
      fc.assert(
        fc.property(fc.array(report, { maxLength: 30 }), (drawn) => {
          const ledger = new Ledger(state.storage.sql);
          const jobId = crypto.randomUUID();
          ledger.insert(jobId, Array.from({ length: ITEMS }, (_, n) => ({ fileId: fileId(n), sourcePath: `f${n}`, r2Key: `k${n}`, expectedSize: null, payload: {} })));
          expect(ledger.lease(jobId, ITEMS, 1_000, 60_000)).toHaveLength(ITEMS);
          const reports: ItemReport[] = drawn.map((d) =>
            d.done
              ? { jobId, fileId: fileId(d.item), attempt: d.attempt, outcome: "done", bytes: 10 + d.item, sha256: `h${d.item}` }
              : { jobId, fileId: fileId(d.item), attempt: d.attempt, outcome: "failed", reason: d.reason, detail: "x" },
          );

          // The model: a success of a known item makes it done; otherwise its first failure for the
          // leased attempt (1) settles it, pending again if transient, else failed.
          const expected = new Map<number, string>();
          for (const d of drawn) if (d.done && d.item < ITEMS) expected.set(d.item, "done");
          for (const d of drawn) {
            if (d.done || d.item >= ITEMS || expected.has(d.item) || d.attempt !== 1) continue;
            expected.set(d.item, TRANSIENT_REASONS.has(d.reason) ? "pending" : "failed");
          }

          expect(ledger.applyAll(jobId, reports, 2_000, settings)).toBe(expected.size);
          for (let n = 0; n < ITEMS; n++) {
            const state = ledger.item(jobId, fileId(n))!.state;
            expect(state, `item ${n}`).toBe(expected.get(n) ?? "leased");
          }
          const counts = ledger.counts(jobId);
          expect(counts.total).toBe(ITEMS);
          expect(counts.done).toBe([...expected.values()].filter((s) => s === "done").length);
          // Applying the same batch again changes nothing.
          expect(ledger.applyAll(jobId, reports, 3_000, settings)).toBe(0);
        }),
        { numRuns: 150 },
      ),
    );
  });
});
