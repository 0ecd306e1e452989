import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CopyMessage, FileRecord } from "../../src/copy/messages";
import { Dispatcher } from "../../src/coordinator/dispatcher";
import { Ledger, type NewItem } from "../../src/coordinator/ledger";
import type { JobSettings } from "../../src/coordinator/model";
import { copyingJob } from "./job-record";

/** The Cloudflare Queues limits, measured as the platform measures them: UTF-8 bytes of the JSON body. */
const QUEUE_MESSAGE_BYTES = 128_000;
const QUEUE_BATCH_BYTES = 256_000;
const QUEUE_BATCH_MESSAGES = 100;

const encoder = new TextEncoder();
const bytesOf = (body: unknown) => encoder.encode(JSON.stringify(body)).length;

/** A queue that refuses what Cloudflare Queues would refuse, and records what it accepted. */
class StrictQueue {
  readonly accepted: CopyMessage[] = [];
  refusals = 0;

  async sendBatch(batch: Iterable<MessageSendRequest<CopyMessage>>): Promise<void> {
    const bodies = [...batch].map((m) => m.body);
    const sizes = bodies.map(bytesOf);
    if (bodies.length > QUEUE_BATCH_MESSAGES || sizes.some((s) => s > QUEUE_MESSAGE_BYTES) || sizes.reduce((a, b) => a + b, 0) > QUEUE_BATCH_BYTES) {
      this.refusals++;
      throw new Error(`sendBatch refused: ${bodies.length} messages of ${sizes.join(", ")} bytes`);
    }
    this.accepted.push(...bodies);
  }
}

/** A queue that is always down. */
class DeadQueue {
  calls = 0;
  async sendBatch(): Promise<void> {
    this.calls++;
    throw new Error("Queue send failed: internal error");
  }
}

const job = (settings: Partial<JobSettings>) => copyingJob({ retryBaseMs: 10, retryMaxMs: 100, ...settings });

function item(n: number, note: string): NewItem {
  const fileId = `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
  const record: FileRecord = { legacyId: n, userId: 1, fileName: `f${n}.csv`, uploadedAt: "2024-01-01T00:00:00Z", systemTags: [], userTags: [], metadata: { note }, legacyPath: `/app/media/uploads/f${n}.csv` };
  return { fileId, sourcePath: `uploads/f${n}.csv`, r2Key: `uploads/user-1/${fileId}.csv`, expectedSize: null, payload: record };
}

/** Runs `body` with a ledger in a coordinator instance of its own (not the one the API tests use). */
function withLedger<T>(body: (ledger: Ledger) => Promise<T>): Promise<T> {
  const stub = env.COORDINATOR.get(env.COORDINATOR.idFromName("dispatch-limits-test"));
  return runInDurableObject(stub, (_instance, state) => body(new Ledger(state.storage.sql)));
}

/** Metadata notes of 0 to ~200,000 UTF-8 bytes, mixing 1-, 2-, 3- and 4-byte characters. */
const note = fc
  .tuple(fc.constantFrom("a", "é", "€", "漢", "😀"), fc.integer({ min: 0, max: 50_000 }), fc.string({ unit: "binary", maxLength: 20 }))
  .map(([char, times, tail]) => char.repeat(times) + tail);

describe("the dispatcher sizes queue messages in UTF-8 bytes", () => {
  it("never sends a message or batch the queue refuses, and fails only the items too large on their own", async () => {
    await withLedger((ledger) =>
      fc.assert(
        fc.asyncProperty(fc.array(note, { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 50 }), async (notes, batchSize) => {
          const queue = new StrictQueue();
          const current = job({ batchSize });
          ledger.insert(current.id, notes.map((n, i) => item(i + 1, n)));
          await new Dispatcher(ledger, queue as unknown as Queue<CopyMessage>).dispatch(current, 1_000);

          expect(queue.refusals).toBe(0);
          const sent = queue.accepted.flatMap((m) => m.items.map((i) => i.fileId));
          const failed = ledger.failures(current.id, 100, 0).failures;
          expect(new Set(sent).size).toBe(sent.length);
          expect(sent.length + failed.length).toBe(notes.length);
          for (const f of failed) {
            expect(f).toMatchObject({ reason: "message_too_large", attempts: 1 });
            // Only an item that could not fit a message even alone (a 100,000-byte budget, 128 KB limit).
            const own = notes[Number(f.fileId!.slice(-12)) - 1]!;
            expect(encoder.encode(own).length).toBeGreaterThan(99_000);
          }
          for (const message of queue.accepted) expect(message.items.length).toBeLessThanOrEqual(batchSize);
        }),
        { numRuns: 40 },
      ),
    );
  });
});

describe("a queue that refuses every send", () => {
  it("does not hand the same items out forever: they fail after maxAttempts", async () => {
    await withLedger(async (ledger) => {
      const queue = new DeadQueue();
      const current = job({ batchSize: 2, maxAttempts: 3 });
      ledger.insert(current.id, [1, 2, 3, 4, 5].map((n) => item(n, "small")));
      const dispatcher = new Dispatcher(ledger, queue as unknown as Queue<CopyMessage>);

      for (let now = 1_000; ledger.hasOpen(current.id) && now < 1_000 + 200 * 60_000; now += 60_000) await dispatcher.dispatch(current, now);

      expect(ledger.hasOpen(current.id)).toBe(false);
      const failures = ledger.failures(current.id, 100, 0).failures;
      expect(failures).toHaveLength(5);
      for (const f of failures) expect(f).toMatchObject({ reason: "queue_send", attempts: 3, detail: expect.stringContaining("internal error") });
      // The 3 messages go in one sendBatch, refused once per attempt.
      expect(queue.calls).toBe(3);
    });
  });
});
