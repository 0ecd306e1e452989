import type { Env } from "../env";
import { runIsolated } from "../lib/d1";
import type { ItemOutcome } from "./copy-file";
import { upsertFileRow } from "./files-row";
import type { CopyItem } from "./messages";

/**
 * Writes the D1 `files` rows of a message's copied items in one batch (a D1 round trip per
 * message, not per file). A row D1 refuses fails its item: a missing user permanently, anything else
 * as a storage error to retry; if D1 cannot be reached at all, every copied item is retried.
 */
export async function recordCopies(env: Env, items: readonly CopyItem[], outcomes: readonly ItemOutcome[]): Promise<ItemOutcome[]> {
  const copied = items.flatMap((item, i) => {
    const outcome = outcomes[i]!;
    return outcome.ok && outcome.copy ? [{ index: i, statement: upsertFileRow(env.DB, item.fileId, item.r2Key, item.record, outcome.copy) }] : [];
  });
  const result = [...outcomes];
  try {
    const written = await runIsolated(env.DB, copied.map((c) => c.statement));
    written.forEach((w, k) => {
      if (w.ok) return;
      const { index } = copied[k]!;
      result[index] = /FOREIGN KEY/i.test(w.error)
        ? { ok: false, reason: "unknown_user", detail: `user ${items[index]!.record.userId} is not in D1` }
        : { ok: false, reason: "storage", detail: `D1 write failed: ${w.error}` };
    });
  } catch (e) {
    for (const { index } of copied) result[index] = { ok: false, reason: "storage", detail: `D1 write failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  return result;
}
