import type { Env } from "../env";
import { runIsolated } from "../lib/d1";
import { tombstonedIds } from "../sync/tombstones";
import type { ItemOutcome } from "./copy-file";
import { upsertFileRow } from "./files-row";
import type { CopyItem } from "./messages";

/**
 * Writes the D1 `files` rows of a message's copied items in one batch (a D1 round trip per
 * message, not per file). A row D1 refuses fails its item: a missing user permanently, anything else
 * as a storage error to retry; if D1 cannot be reached at all, every copied item is retried. A file
 * the new app deleted meanwhile gets no row: the object just copied is removed again and the item
 * is done (the coordinator's reconcile knows tombstones).
 */
export async function recordCopies(env: Env, items: readonly CopyItem[], outcomes: readonly ItemOutcome[]): Promise<ItemOutcome[]> {
  const copied = items.flatMap((item, i) => {
    const outcome = outcomes[i]!;
    return outcome.ok && outcome.copy ? [{ index: i, statement: upsertFileRow(env.DB, item.fileId, item.r2Key, item.record, outcome.copy) }] : [];
  });
  const result = [...outcomes];
  try {
    const written = await runIsolated(env.DB, copied.map((c) => c.statement));
    const unwritten: number[] = [];
    written.forEach((w, k) => {
      const { index } = copied[k]!;
      if (w.ok) {
        if (w.changes === 0) unwritten.push(index);
        return;
      }
      result[index] = /FOREIGN KEY/i.test(w.error)
        ? { ok: false, reason: "unknown_user", detail: `user ${items[index]!.record.userId} is not in D1` }
        : { ok: false, reason: "storage", detail: `D1 write failed: ${w.error}` };
    });
    if (unwritten.length > 0) await removeDeleted(env, items, unwritten);
  } catch (e) {
    for (const { index } of copied) result[index] = { ok: false, reason: "storage", detail: `D1 write failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  return result;
}

/** Items (by index) whose row was not written: those the new app deleted lose the object just copied. */
async function removeDeleted(env: Env, items: readonly CopyItem[], indexes: readonly number[]): Promise<void> {
  const deleted = await tombstonedIds(env.DB, "files", indexes.map((i) => items[i]!.fileId));
  const keys = indexes.map((i) => items[i]!).filter((item) => deleted.has(item.fileId)).map((item) => item.r2Key);
  if (keys.length > 0) await env.FILES.delete(keys);
}
