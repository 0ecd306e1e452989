import { z } from "zod";
import type { Env } from "../env";
import { coordinator } from "../env";
import { existingFileChecksums } from "../coordinator/reconcile";
import { mapWithConcurrency } from "../lib/concurrency";
import { copyFile, type ItemOutcome } from "./copy-file";
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
 * Queue consumer: copies (or verifies) every item of every message in the batch with bounded
 * concurrency, then reports all results to the coordinator in one call. The coordinator's ledger
 * owns retries, so messages are acked once reported; only a failed report makes the queue
 * redeliver, and a redelivered copy is harmless.
 */
export async function handleCopyBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const work: { message: Message<unknown>; body: CopyMessage; item: CopyItem | VerifyItem }[] = [];
  for (const message of batch.messages) {
    const parsed = messageShape.safeParse(message.body);
    if (!parsed.success) {
      console.error(`dropping malformed copy message ${message.id}: ${parsed.error.message}`);
      message.ack();
      continue;
    }
    const body = message.body as CopyMessage;
    for (const item of body.items) work.push({ message, body, item });
  }
  if (work.length === 0) return;

  const copyIds = work.filter((w) => w.body.kind === "copy").map((w) => w.item.fileId);
  const known = new Map<string, { size: number; checksum: string }>();
  for (let i = 0; i < copyIds.length; i += 90) {
    for (const [id, row] of await existingFileChecksums(env.DB, copyIds.slice(i, i + 90))) known.set(id, row);
  }
  const concurrency = Math.max(...work.map((w) => w.body.concurrency));
  const outcomes = await mapWithConcurrency(work, concurrency, ({ body, item }) =>
    body.kind === "copy" ? copyFile(env, item as CopyItem, body.fetchTimeoutMs, known.get(item.fileId)) : verifyObject(env.FILES, item as VerifyItem),
  );
  const reports = work.map(({ body, item }, i) => toReport(body.jobId, item, outcomes[i]!));
  const messages = [...new Set(work.map((w) => w.message))];
  try {
    await coordinator(env).report(reports);
    for (const message of messages) message.ack();
  } catch (e) {
    console.error("reporting to the coordinator failed; the batch will be redelivered:", e);
    for (const message of messages) message.retry({ delaySeconds: REPORT_RETRY_SECONDS });
  }
}

function toReport(jobId: string, item: { fileId: string; attempt: number }, outcome: ItemOutcome): ItemReport {
  const base = { jobId, fileId: item.fileId, attempt: item.attempt };
  return outcome.ok
    ? { ...base, outcome: "done", bytes: outcome.bytes, sha256: outcome.sha256, wrote: outcome.wrote }
    : { ...base, outcome: "failed", reason: outcome.reason, detail: outcome.detail };
}
