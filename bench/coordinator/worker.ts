// The coordinator bench's Worker: the project's own Worker (admin API, coordinator, planner,
// dispatcher, queue), with a copy consumer that reports every item done at once — no fetch, no R2
// put, no D1 row — so that what is measured is the ledger's plan → lease → dispatch → report.
import app from "../../src/index";
import type { CopyMessage, ItemReport } from "../../src/copy/messages";
import type { Env } from "../../src/env";
import { coordinator } from "../../src/env";

export { AttemptLimiter, GateRelay, MigrationCoordinator } from "../../src/index";

const NO_CONTENT_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

export default {
  fetch: app.fetch,
  async queue(batch: MessageBatch<CopyMessage>, env: Env): Promise<void> {
    const reports: ItemReport[] = [];
    for (const { body } of batch.messages) {
      if (body.kind !== "copy") continue;
      for (const item of body.items) reports.push({ jobId: body.jobId, fileId: item.fileId, attempt: item.attempt, outcome: "done", bytes: item.expectedSize ?? 0, sha256: NO_CONTENT_SHA256 });
    }
    await coordinator(env).receiveReports(reports);
    batch.ackAll();
  },
} satisfies ExportedHandler<Env, CopyMessage>;
