import { z } from "zod";
import type { Env } from "../env";
import { coordinator } from "../env";
import { existingFileChecksums } from "./existing-checksums";
import { Semaphore } from "../lib/concurrency";
import { PointBudget, writeCopyOutcomes } from "../metrics/analytics";
import { copyFile, type ItemOutcome } from "./copy-file";
import { recordCopies } from "./record-copies";
import type { CopyItem, CopyMessage, ItemReport, VerifyItem } from "./messages";
import { verifyObject } from "./verify-object";

const REPORT_RETRY_SECONDS = 5;

const messageShape = z.object({
  kind: z.enum(["copy", "verify"]),
  jobId: z.string().min(1),
  concurrency: z.number().int().min(1).max(64),
  items: z.array(z.object({ fileId: z.string().min(1), attempt: z.number().int().min(1) }).loose()).min(1),
});

/**
 * Queue consumer: copies (or verifies) the items of every message in the batch from one pool of
 * bounded concurrency, and reports each message to the coordinator as soon as its own items are
 * done, so a slow file never holds back the results of another message. The coordinator's ledger
 * owns retries: a message is acked once reported, and only a failed report makes the queue
 * redeliver it, which is harmless.
 */
export async function handleCopyBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const messages: { message: Message<unknown>; body: CopyMessage }[] = [];
  for (const message of batch.messages) {
    const parsed = messageShape.safeParse(message.body);
    if (parsed.success) messages.push({ message, body: message.body as CopyMessage });
    else {
      console.error(`dropping malformed copy message ${message.id}: ${parsed.error.message}`);
      message.ack();
    }
  }
  if (messages.length === 0) return;

  // What D1 already records for these files, to skip rewriting identical objects.
  const known = await existingFileChecksums(env.DB, messages.flatMap(({ body }) => (body.kind === "copy" ? body.items.map((i) => i.fileId) : [])));
  const pool = new Semaphore(Math.max(...messages.map(({ body }) => body.concurrency)));
  const stub = coordinator(env);
  const points = new PointBudget();
  await Promise.all(
    messages.map(async ({ message, body }) => {
      const items = body.items as (CopyItem | VerifyItem)[];
      let outcomes = await Promise.all(
        items.map((item) =>
          pool.run(() => (body.kind === "copy" ? copyFile(env, item as CopyItem, body.fetchTimeoutMs, known.get(item.fileId)) : verifyObject(env.FILES, item as VerifyItem))),
        ),
      );
      if (body.kind === "copy") outcomes = await recordCopies(env, body.items, outcomes);
      const reports = items.map((item, i) => toReport(body.jobId, item, outcomes[i]!));
      try {
        await stub.receiveReports(reports);
        // Written once reported: a message whose report failed is redone and written when it is reported.
        writeCopyOutcomes(env.ANALYTICS, body.jobId, body.kind, reports, points);
        message.ack();
      } catch (e) {
        console.error(`reporting message ${message.id} failed; it will be redelivered:`, e);
        message.retry({ delaySeconds: REPORT_RETRY_SECONDS });
      }
    }),
  );
}

function toReport(jobId: string, item: { fileId: string; attempt: number }, outcome: ItemOutcome): ItemReport {
  const base = { jobId, fileId: item.fileId, attempt: item.attempt };
  return outcome.ok
    ? { ...base, outcome: "done", bytes: outcome.bytes, sha256: outcome.sha256, ...(outcome.identical ? { identical: true } : {}) }
    : { ...base, outcome: "failed", reason: outcome.reason, detail: outcome.detail };
}
