import type { UserRow } from "../legacy/export-contract";
import { insertImported } from "./d1-import";
import { applyWrites, mergeWrite, type Decoded, type ImportContext, type RowWrite } from "./import-writes";
import { readUserBatch } from "./user-batch";

/**
 * Imports a slice of users.csv: merges users D1 holds (three-way-merge.ts) and inserts the others.
 * A username another D1 user holds is a conflict: a new legacy user is not imported, an imported
 * one keeps its username (the change stays pending). A new legacy user with a new-app user's email
 * is imported, and the clash recorded. One D1 round trip reads everything the slice needs.
 */
export async function importUsers(ctx: ImportContext, rows: Decoded<UserRow>): Promise<void> {
  const db = ctx.env.DB;
  const { incoming, merges, heldIds, takenBy, emailHolder: emailHolderOf } = await readUserBatch(db, rows, ctx.conflicts.renamesFor(rows.map((r) => r.row.id)));

  const updates: RowWrite[] = [];
  const inserts: RowWrite[] = [];
  for (const { line, row, remote } of incoming) {
    const { id } = row;
    const merge = merges.get(id);
    if (!merge && heldIds.has(id)) {
      ctx.ledger.recordRowError(ctx.job.id, "users", line, "id is held by a row created in the new app");
      continue;
    }
    const username = String(merge ? merge.values.username : remote.username);
    const holder = takenBy(username, id);
    if (holder) {
      const detail = { legacyUserId: id, legacyUsername: row.username, username, heldBy: { id: holder.id, legacyId: holder.legacy_id }, imported: merge !== undefined };
      ctx.conflicts.record(ctx.job.id, { table: "users", rowKey: String(id), field: "username", detail, line }, ctx.now);
    }
    const imported = () => {
      ctx.counters.usersMigrated++;
      if (!holder) ctx.conflicts.settle("users", String(id), "username", ctx.job.id, ctx.now);
    };
    if (merge) {
      if (holder) merge.hold("username");
      const write = mergeWrite(ctx, merge, line, imported);
      if (write) updates.push(write);
      continue;
    }
    if (holder) continue;
    const emailHolder = emailHolderOf(row.email);
    const done = () => {
      imported();
      ctx.counters.legacyChanges++;
      if (!emailHolder) return;
      const detail = { legacyUserId: id, email: row.email, heldBy: { id: emailHolder.id, username: emailHolder.username } };
      ctx.conflicts.record(ctx.job.id, { table: "users", rowKey: String(id), field: "email", detail, line }, ctx.now);
    };
    inserts.push({ line, statement: insertImported(db, "users", id, remote), done });
  }
  // Updates first, so that a username given up in this slice is free before another user takes it.
  await applyWrites(ctx, "users", [...updates, ...inserts]);
}
