import type { UserRow } from "../legacy/export-contract";
import { batchRead, selectIn } from "../sync/select-in";
import { userValues } from "../sync/synced-rows";
import { selectStored, type StoredRow } from "./d1-import";
import type { Decoded } from "./import-writes";
import { RowMerge } from "./row-merge";

export interface Holder {
  id: number;
  legacy_id: number | null;
  username: string;
}

/**
 * What D1 holds for a slice of users.csv, read in one round trip: each row with the username it
 * would be imported under (after a rename-legacy decision), the merges of users D1 already holds,
 * who holds each wanted username (`takenBy`: a username a user of the slice gives up is free for
 * another of it) and which new-app user holds each email. The import (import-users.ts) and the
 * preflight (preflight/check-users.ts) judge the same facts.
 */
export async function readUserBatch(db: D1Database, rows: Decoded<UserRow>, renames: ReadonlyMap<number, { legacyUsername: string; username: string }>) {
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

  const merges = new Map<number, RowMerge>();
  for (const u of incoming) {
    const held = byId.get(u.row.id);
    if (held && held.legacy_id === u.row.id) merges.set(u.row.id, new RowMerge("users", held, u.remote));
  }
  const released = new Set([...merges.values()].filter((m) => m.values.username !== m.stored.username).map((m) => m.stored.username));
  return {
    incoming,
    merges,
    /** Whether a row with this id exists in D1 (merged or not: a new-app row may hold a legacy id). */
    heldIds: new Set(byId.keys()),
    takenBy(username: string, id: number): Holder | null {
      const holder = holderOf.get(username);
      return holder && holder.id !== id && !released.has(username) ? holder : null;
    },
    emailHolder(email: string): Holder | undefined {
      return email === "" ? undefined : emailHolderOf.get(sqlLower(email));
    },
  };
}

/** Lower case as SQLite's lower() does it (ASCII only), to match `lower(email)` in D1. */
function sqlLower(text: string): string {
  return text.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}
