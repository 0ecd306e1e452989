// The ledger takes planned items as JSON arrays, a statement per ~600,000 characters: a batch of large
// rows (metadata near the CSV record limit) goes in whole, each row once, duplicates reported, however
// the rows fall into statements.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Ledger, type NewItem } from "../../src/coordinator/ledger";

const item = (n: number, noteChars: number): NewItem => ({
  fileId: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
  sourcePath: `uploads/${"d".repeat(200)}/f${n}.csv`,
  r2Key: `uploads/user-1/f${n}.csv`,
  expectedSize: n,
  payload: { metadata: { note: "é\\\"".repeat(Math.floor(noteChars / 3)) } },
});

describe("the ledger's insert", () => {
  it("takes batches of large rows whole, split across statements, with duplicates found", async () => {
    const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName(`large-batches-${crypto.randomUUID()}`));
    await runInDurableObject(stub, (_i, state) =>
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.constantFrom(10, 20_000, 300_000, 700_000)), { minLength: 1, maxLength: 30 }), (drawn) => {
          const ledger = new Ledger(state.storage.sql);
          const jobId = crypto.randomUUID();
          const items = drawn.map(([n, size]) => item(n, size));
          const duplicates = ledger.insert(jobId, items);
          const firsts = new Map<string, number>();
          items.forEach((it, i) => firsts.has(it.fileId) || firsts.set(it.fileId, i));
          expect(duplicates).toEqual(items.map((it, i) => i).filter((i) => firsts.get(items[i]!.fileId) !== i));
          expect(ledger.counts(jobId).total).toBe(firsts.size);
          for (const [fileId, i] of firsts) {
            const stored = ledger.item(jobId, fileId)!;
            expect(stored.payload).toEqual(items[i]!.payload);
          }
        }),
        { numRuns: 15 },
      ),
    );
  });
});
