import { d1Message, isConstraintError, SQL_NOW } from "../lib/d1";
import { refuse, type Outcome, type Refusal } from "../lib/outcome";
import { recordUserUpsert } from "../sync/outbox";
import { MERGE_RULES, SYNCED_TABLES, type SyncedTable, type Value } from "../sync/three-way-merge";
import type { ConflictStore } from "./conflicts";
import type { ConflictDetails, ConflictField, ConflictResolution, ConflictView } from "./model";

/** What resolving a conflict records, once its D1 change (if any) is made. */
export interface ResolutionPlan {
  resolution: Record<string, unknown>;
  /** rename-legacy of a username: the name that legacy user is imported under from now on. */
  rename?: { legacyUserId: number; legacyUsername: string; username: string };
  /** What the operator should run on the legacy database, so that both sides agree. */
  legacySql?: string;
  note: string;
}

const ACTIONS: Readonly<Record<ConflictField, readonly ConflictResolution["action"][]>> = {
  username: ["rename-new", "rename-legacy"],
  email: ["rename-new", "rename-legacy", "keep-both"],
  fields: ["keep-new", "keep-legacy"],
};

/**
 * Checks the operator's action against the conflict and makes its change in D1:
 * - username: rename-new renames the D1 user holding the name (the next delta imports the legacy
 *   user under it); rename-legacy records the name the legacy user is imported under (applied by the
 *   next delta, and only while legacy still calls that user by the contested name).
 * - email: rename-new / rename-legacy set the email of that side's D1 user; keep-both changes nothing.
 * - fields: keep-new changes nothing (the base already moved on); keep-legacy writes the legacy
 *   values recorded in the conflict.
 * A username (rename-new, rename-legacy, keep-legacy of a username) is given to nobody while another
 * user holds it, another rename-legacy gave it, or the legacy user of another username conflict waits
 * for it (open, or resolved by rename-new and not yet imported): a 409 naming `username`. A legacy
 * value D1 refuses anyway (a constraint) is a 409 naming its field.
 */
export async function planResolution(db: D1Database, store: ConflictStore, conflict: ConflictView, input: ConflictResolution): Promise<Outcome<ResolutionPlan>> {
  const allowed = ACTIONS[conflict.field];
  if (!allowed.includes(input.action)) return refuse(400, `action: a ${conflict.field} conflict is resolved by ${allowed.join(" or ")}`, "action");
  const needs = conflict.field === "username" ? "username" : conflict.field === "email" && input.action !== "keep-both" ? "email" : null;
  for (const key of ["username", "email"] as const) {
    if (key === needs && input[key] === undefined) return refuse(400, `${key}: is required for ${input.action} of a ${conflict.field} conflict`, key);
    if (key !== needs && input[key] !== undefined) return refuse(400, `${key}: is not used by ${input.action} of a ${conflict.field} conflict`, key);
  }
  switch (conflict.field) {
    case "username":
      return resolveUsername(db, store, conflict.detail as ConflictDetails["username"], input.action, input.username!);
    case "email":
      return resolveEmail(db, conflict.detail as ConflictDetails["email"], input.action, input.email ?? null);
    case "fields":
      return resolveFields(db, store, conflict, input.action);
  }
}

/**
 * Why `username` cannot go where a resolution puts it, or null if it is free for it: it is held in D1
 * (except by `owner`, the user it goes to, when that user may already hold it), another rename-legacy
 * gave it to another legacy user, or another username conflict's legacy user waits for it
 * (ConflictStore.waitingFor).
 * `legacyUserId` is the legacy user of the conflict being resolved.
 */
async function usernameRefusal(db: D1Database, store: ConflictStore, username: string, legacyUserId: number, owner: number | null): Promise<Refusal | null> {
  const holder = await db.prepare(`SELECT id FROM users WHERE username = ?`).bind(username).first<{ id: number }>();
  const renamed = store.renamedTo(username);
  if ((holder && holder.id !== owner) || (renamed !== null && renamed !== legacyUserId)) return refuse(409, `username: '${username}' is taken`, "username");
  const waiting = store.waitingFor(username, legacyUserId);
  if (waiting) {
    return refuse(409, `username: '${username}' is the name legacy user ${waiting.legacyUserId} waits to be imported under (conflict #${waiting.conflictId}); choose another name, or let the next delta job import that user first`, "username");
  }
  return null;
}

async function resolveUsername(db: D1Database, store: ConflictStore, detail: ConflictDetails["username"], action: ConflictResolution["action"], username: string): Promise<Outcome<ResolutionPlan>> {
  // A rename-new retried after its D1 change finds the user already renamed: that is not a clash.
  const refusal = await usernameRefusal(db, store, username, detail.legacyUserId, action === "rename-new" ? detail.heldBy.id : null);
  if (refusal) return refusal;
  if (action === "rename-legacy") {
    return {
      ok: true,
      value: {
        resolution: { action, username, legacyUserId: detail.legacyUserId },
        rename: { legacyUserId: detail.legacyUserId, legacyUsername: detail.legacyUsername, username },
        legacySql: `UPDATE auth_user SET username = ${sqlText(username)} WHERE id = ${detail.legacyUserId};`,
        note: `the next delta job imports legacy user ${detail.legacyUserId} as '${username}'; rename the user on legacy too (legacySql)`,
      },
    };
  }
  const changed = await renameUser(db, detail.heldBy.id, detail.username, username);
  if (changed === "taken") return refuse(409, `username: '${username}' is taken`, "username");
  if (changed === 0) return refuse(409, `user ${detail.heldBy.id} no longer holds '${detail.username}'; the next delta job imports legacy user ${detail.legacyUserId} and closes this conflict`);
  return {
    ok: true,
    value: {
      resolution: { action, username, userId: detail.heldBy.id, previous: detail.username },
      note: `user ${detail.heldBy.id} is now '${username}'; the next delta job imports legacy user ${detail.legacyUserId} as '${detail.username}'`,
    },
  };
}

/** Renames a D1 user from `from` (or, when a resolution is retried, already to `to`): rows changed, or "taken". */
async function renameUser(db: D1Database, id: number, from: string, to: string): Promise<number | "taken"> {
  try {
    // The rename and its outbox entry (reverse sync) in one batch.
    const [result] = await db.batch([
      db.prepare(`UPDATE users SET username = ?1, changed_on = 'new', updated_at = ${SQL_NOW} WHERE id = ?2 AND username IN (?3, ?1)`).bind(to, id, from),
      recordUserUpsert(db, id),
    ]);
    return result!.meta.changes ?? 0;
  } catch (e) {
    if (isConstraintError(e)) return "taken";
    throw e;
  }
}

async function resolveEmail(db: D1Database, detail: ConflictDetails["email"], action: ConflictResolution["action"], email: string | null): Promise<Outcome<ResolutionPlan>> {
  if (action === "keep-both") return { ok: true, value: { resolution: { action }, note: "both users keep the email" } };
  const userId = action === "rename-new" ? detail.heldBy.id : detail.legacyUserId;
  const update = db.prepare(`UPDATE users SET email = ?, changed_on = 'new', updated_at = ${SQL_NOW} WHERE id = ?`).bind(email, userId);
  // rename-new changes the new side only: its outbox entry (reverse sync) goes in the same batch.
  // rename-legacy's change is run on legacy by the operator (legacySql).
  const [result] = await db.batch(action === "rename-new" ? [update, recordUserUpsert(db, userId)] : [update]);
  if ((result!.meta.changes ?? 0) === 0) return refuse(409, `user ${userId} is no longer in D1`);
  const legacySql = action === "rename-legacy" ? `UPDATE auth_user SET email = ${sqlText(email!)} WHERE id = ${detail.legacyUserId};` : undefined;
  return {
    ok: true,
    value: {
      resolution: { action, email, userId },
      note: `user ${userId}'s email is now '${email}'${legacySql ? "; change it on legacy too (legacySql)" : ""}`,
      ...(legacySql ? { legacySql } : {}),
    },
  };
}

async function resolveFields(db: D1Database, store: ConflictStore, conflict: ConflictView, action: ConflictResolution["action"]): Promise<Outcome<ResolutionPlan>> {
  const fields = (conflict.detail as ConflictDetails["fields"]).fields;
  if (action === "keep-new") return { ok: true, value: { resolution: { action }, note: `${conflict.table} ${conflict.rowKey} keeps the new app's values` } };
  const table = conflict.table as SyncedTable;
  // Column names go into SQL: only the table's own synced fields are accepted.
  const names = Object.keys(fields).filter((f) => SYNCED_TABLES.includes(table) && MERGE_RULES[table].fields.includes(f));
  if (names.length === 0) return refuse(409, `conflict ${conflict.id} records no field of ${conflict.table} to apply`);
  const id: string | number = table === "files" ? conflict.rowKey : Number(conflict.rowKey);
  if (table === "users" && names.includes("username")) {
    // Legacy's username goes back to this user: the same check as a username resolution.
    const refusal = await usernameRefusal(db, store, String(fields.username!.remote), Number(id), Number(id));
    if (refusal) return refusal;
  }
  let result: D1Result;
  try {
    result = await db
      .prepare(`UPDATE ${table} SET ${names.map((f) => `${f} = ?`).join(", ")}, changed_on = 'legacy', updated_at = ${SQL_NOW} WHERE id = ? AND legacy_id IS NOT NULL`)
      .bind(...names.map((f) => fields[f]!.remote as Value), id)
      .run();
  } catch (e) {
    // A name taken meanwhile, a user or file that is gone: the operator's to sort out, not a 500.
    if (!isConstraintError(e)) throw e;
    const field = constraintField(d1Message(e), table, names);
    return refuse(409, `${field}: D1 refuses legacy's value (${d1Message(e)}); resolve with keep-new, or free the value first`, field);
  }
  const applied = (result.meta.changes ?? 0) > 0;
  return {
    ok: true,
    value: {
      resolution: { action, fields: names, applied },
      note: applied ? `${conflict.table} ${conflict.rowKey} now holds legacy's ${names.join(", ")}` : `${conflict.table} ${conflict.rowKey} is no longer in D1; nothing to apply`,
    },
  };
}

/** The field a D1 constraint error names (`UNIQUE constraint failed: users.username`), else the one a foreign key can break, else the first. */
function constraintField(message: string, table: string, names: readonly string[]): string {
  const named = names.find((f) => message.includes(`${table}.${f}`));
  if (named) return named;
  if (/FOREIGN KEY/i.test(message) && names.includes("user_id")) return "user_id";
  return names[0]!;
}

/** A SQL string literal (for the statement the operator runs on legacy). */
function sqlText(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
