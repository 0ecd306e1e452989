import type { UserRow } from "../legacy/export-contract";
import { batchRead, selectIn } from "../sync/select-in";
import { userValues } from "../sync/synced-rows";
import { insertImported, selectStored, type StoredRow } from "./d1-import";
import { applyWrites, mergeWrite, type Decoded, type ImportContext, type RowWrite } from "./import-writes";
import { RowMerge } from "./row-merge";

interface Holder {
  id: number;
  legacy_id: number | null;
  username: string;
}

/**
 * Imports a slice of users.csv: merges users D1 holds (three-way-merge.ts) and inserts the others.
 * A username another D1 user holds is a conflict: a new legacy user is not imported, an imported
 * one keeps its username (the change stays pending). A new legacy user with a new-app user's email
 * is imported, and the clash recorded. One D1 round trip reads everything the slice needs.
 */
export async function importUsers(ctx: ImportContext, rows: Decoded<UserRow>): Promise<void> {
  const db = ctx.env.DB;
  const renames = ctx.conflicts.renamesFor(rows.map((r) => r.row.id));
  const incoming = rows.map(({ record, row }) => {
    const rename = renames.get(row.id);
    const username = rename && rename.legacyUsername === row.username ? rename.username : row.username;
    return { line: record.line, row, remote: userValues(row, username), username };
  });
  const [stored, holders, emailHolders] = (await batchRead(db, [
    selectStored(db, "users", incoming.map((u) => u.row.id)),
    selectIn(db, `SELECT id, legacy_id, username FROM users WHERE username IN`, incoming.map((u) => u.username)),
    selectIn(db, `SELECT id, legacy_id, username, lower(email) AS email FROM users WHERE legacy_id IS NULL AND lower(email) IN`, incoming.filter((u) => u.row.email !== "").map((u) => sqlLower(u.row.email))),
  ])) as [StoredRow[], Holder[], (Holder & { email: string })[]];
  const byId = new Map(stored.map((s) => [s.id, s]));
  const holderOf = new Map(holders.map((h) => [h.username, h]));
  const emailHolderOf = new Map(emailHolders.map((h) => [h.email, h]));

  // Merges first: a username that a user of this slice gives up is free for another of it.
  const merges = new Map<number, RowMerge>();
  for (const u of incoming) {
    const held = byId.get(u.row.id);
    if (held && held.legacy_id === u.row.id) merges.set(u.row.id, new RowMerge("users", held, u.remote));
  }
  const released = new Set([...merges.values()].filter((m) => m.values.username !== m.stored.username).map((m) => m.stored.username));
  const takenBy = (username: string, id: number) => {
    const holder = holderOf.get(username);
    return holder && holder.id !== id && !released.has(username) ? holder : null;
  };

  const updates: RowWrite[] = [];
  const inserts: RowWrite[] = [];
  for (const { line, row, remote } of incoming) {
    const { id } = row;
    const merge = merges.get(id);
    if (!merge && byId.has(id)) {
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
    const emailHolder = row.email === "" ? undefined : emailHolderOf.get(sqlLower(row.email));
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

/** Lower case as SQLite's lower() does it (ASCII only), to match `lower(email)` in D1. */
function sqlLower(text: string): string {
  return text.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}
