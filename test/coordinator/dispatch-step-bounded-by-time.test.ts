// A dispatch call leases and sends in chunks and stops once it has run DISPATCH_STEP_MS (checked
// after each send, where the Workers clock moves), saying there is more; the next calls send the rest,
// each item exactly once.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { CopyMessage } from "../../src/copy/messages";
import { Dispatcher } from "../../src/coordinator/dispatcher";
import { Ledger } from "../../src/coordinator/ledger";
import { copyingJob } from "./job-record";

/** A queue whose every send takes `ms` (a slow queue, or a busy isolate). */
class SlowQueue {
  readonly fileIds: string[] = [];
  sends = 0;
  constructor(private readonly ms: number) {}
  async sendBatch(batch: Iterable<MessageSendRequest<CopyMessage>>): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, this.ms));
    this.sends++;
    for (const { body } of batch) this.fileIds.push(...body.items.map((i) => i.fileId));
  }
}

const copyJob = () => copyingJob({ batchSize: 50 });

function items(count: number) {
  return Array.from({ length: count }, (_, n) => {
    const fileId = `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
    return { fileId, sourcePath: `uploads/f${n}.csv`, r2Key: `uploads/user-1/${fileId}.csv`, expectedSize: null, payload: {} };
  });
}

const inDurableObject = <T>(body: (ledger: Ledger) => Promise<T>) =>
  runInDurableObject(env.COORDINATOR.get(env.COORDINATOR.idFromName("dispatch-step-test")), (_i, state) => body(new Ledger(state.storage.sql)));

describe("a dispatch call", () => {
  it("stops once it has run its time, with more to send, and the next calls send the rest once each", async () => {
    await inDurableObject(async (ledger) => {
      const job = copyJob();
      ledger.insert(job.id, items(2_000));
      const queue = new SlowQueue(30);
      const dispatcher = new Dispatcher(ledger, queue as unknown as Queue<CopyMessage>);

      const first = await dispatcher.dispatch(job, 1_000);
      // 30 ms a send (one sendBatch per chunk of 250): the call stops after its first chunk, not at the 1,000-item cap.
      expect(first).toEqual({ sent: 250, retryAt: null, more: true });
      expect(queue.sends).toBe(1);

      let calls = 1;
      for (let r = first; r.more && calls < 20; calls++) r = await dispatcher.dispatch(job, 1_000);
      expect(queue.fileIds).toHaveLength(2_000);
      expect(new Set(queue.fileIds).size).toBe(2_000);
      expect(ledger.counts(job.id)).toMatchObject({ leased: 2_000, pending: 0 });
      // The last call found nothing ready and said so.
      expect(await dispatcher.dispatch(job, 1_000)).toEqual({ sent: 0, retryAt: null, more: false });
    });
  });

  it("leases at most 1,000 items however fast the queue is", async () => {
    await inDurableObject(async (ledger) => {
      const job = copyJob();
      ledger.insert(job.id, items(1_500));
      const queue = new SlowQueue(0);
      const result = await new Dispatcher(ledger, queue as unknown as Queue<CopyMessage>).dispatch(job, 1_000);
      expect(result).toEqual({ sent: 1_000, retryAt: null, more: true });
      expect(ledger.counts(job.id)).toMatchObject({ leased: 1_000, pending: 500 });
    });
  });
});
