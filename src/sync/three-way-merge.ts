/**
 * How an import merges a legacy export row into the D1 row imported from it before, while both
 * systems take writes (the canary). Pure: no I/O.
 *
 * For each synced field:   base   = the row's `legacy_base` (what legacy said at the last import)
 *                          local  = the D1 value now (the new app may have changed it since)
 *                          remote = the export's value now
 *
 * | case                                   | result                                              |
 * |----------------------------------------|-----------------------------------------------------|
 * | remote == base                         | keep local (legacy did not change it)               |
 * | local == base                          | take remote (only legacy changed it)                |
 * | both changed, to equal values          | that value                                          |
 * | both changed, to different values      | keep local, report a conflict naming the field      |
 *
 * Two other kinds of field take their own rule instead, and never conflict:
 *
 * | kind         | rule                                                  | fields                       |
 * |--------------|-------------------------------------------------------|------------------------------|
 * | "later"      | the later instant of local and remote                 | users.last_login             |
 * | "legacyWins" | remote != base: take remote, even over a local change | users.password_hash,         |
 * |              | remote == base: keep local                            | users.is_active              |
 *
 * "later": a login on either side. "legacyWins": fields legacy is the authority for. The new app has
 * no password change and no deactivation, so a local change of them is only a login's upward
 * re-hash of the same password, which is kept until legacy changes the field; a password change or
 * deactivation on legacy always arrives, however the new app re-hashed meanwhile (keeping the local
 * hash would keep the old password working on the new app).
 *
 * Values compare canonically: JSON fields as canonical JSON (object keys sorted, array order kept),
 * the rest by type and value. A row without a base counts as unchanged locally. After the import
 * the row's base becomes the remote values (so a difference already reported is not reported
 * again) and its `changed_on` becomes 'legacy' only if the merge took a remote value.
 *
 * Synced fields per table (every other column is the new app's, or the copy's):
 * - users: username, email, first_name, last_name, is_staff, is_superuser, date_joined by the first
 *   table; password_hash and is_active "legacyWins"; last_login "later". The importer adds one rule:
 *   a merged username that another D1 user holds is not applied (local kept, base kept, conflict
 *   reported), and a legacy user whose username another D1 user holds is not imported (conflict
 *   reported).
 * - files: user_id, file_name, system_tags, user_tags, metadata (the last three JSON). The content
 *   (r2_key, size, checksum, row/column counts, columns_metadata, legacy_file_path) always comes
 *   from the copy; uploaded_at is written when the row is created.
 * - saved_filters: user_id, file_id, name, description, filter_config (JSON).
 * Rows the new app created (legacy_id NULL) are never merged; rows it deleted (tombstones) are never
 * re-created.
 */

/** A field's value in its D1 column form (JSON fields as their JSON text). */
export type Value = string | number | null;
export type Fields = Readonly<Record<string, Value>>;

export interface TableRule {
  readonly fields: readonly string[];
  /** Fields holding JSON text, compared as canonical JSON. */
  readonly json: ReadonlySet<string>;
  /** Timestamp fields whose later value wins, never a conflict. */
  readonly later: ReadonlySet<string>;
  /** Fields legacy is the authority for: a remote change is always taken, never a conflict. */
  readonly legacyWins: ReadonlySet<string>;
}

export const SYNCED_TABLES = ["users", "files", "saved_filters"] as const;
export type SyncedTable = (typeof SYNCED_TABLES)[number];

export const MERGE_RULES: Readonly<Record<SyncedTable, TableRule>> = {
  users: {
    fields: ["username", "email", "first_name", "last_name", "is_active", "is_staff", "is_superuser", "date_joined", "password_hash", "last_login"],
    json: new Set(),
    later: new Set(["last_login"]),
    legacyWins: new Set(["password_hash", "is_active"]),
  },
  files: {
    fields: ["user_id", "file_name", "system_tags", "user_tags", "metadata"],
    json: new Set(["system_tags", "user_tags", "metadata"]),
    later: new Set(),
    legacyWins: new Set(),
  },
  saved_filters: {
    fields: ["user_id", "file_id", "name", "description", "filter_config"],
    json: new Set(["filter_config"]),
    later: new Set(),
    legacyWins: new Set(),
  },
};

export interface FieldConflict {
  field: string;
  base: Value;
  local: Value;
  remote: Value;
}

export interface Merged {
  /** Every synced field after the merge. */
  values: Record<string, Value>;
  /** Fields whose merged value differs from local: what the import writes. */
  tookRemote: string[];
  conflicts: FieldConflict[];
}

export function threeWayMerge(rule: TableRule, base: Fields | null, local: Fields, remote: Fields): Merged {
  const values: Record<string, Value> = {};
  const tookRemote: string[] = [];
  const conflicts: FieldConflict[] = [];
  for (const field of rule.fields) {
    const l = local[field] ?? null;
    const r = remote[field] ?? null;
    const b = base ? (base[field] ?? null) : l;
    const same = (x: Value, y: Value) => sameValue(rule, field, x, y);
    let value: Value;
    if (rule.later.has(field)) value = later(l, r);
    else if (rule.legacyWins.has(field)) value = same(r, b) ? l : r;
    else if (same(r, b) || same(l, r)) value = l;
    else if (same(l, b)) value = r;
    else {
      value = l;
      conflicts.push({ field, base: b, local: l, remote: r });
    }
    values[field] = value;
    if (!same(value, l)) tookRemote.push(field);
  }
  return { values, tookRemote, conflicts };
}

export function sameValue(rule: TableRule, field: string, a: Value, b: Value): boolean {
  return canonical(a, rule.json.has(field)) === canonical(b, rule.json.has(field));
}

/** Whether two rows agree on every synced field. */
export function sameFields(rule: TableRule, a: Fields, b: Fields): boolean {
  return rule.fields.every((f) => sameValue(rule, f, a[f] ?? null, b[f] ?? null));
}

/** Only `rule`'s fields of `row`, in rule order: what `legacy_base` stores. */
export function syncedFields(rule: TableRule, row: Fields): Record<string, Value> {
  return Object.fromEntries(rule.fields.map((f) => [f, row[f] ?? null]));
}

/** A stored `legacy_base` (JSON text), or null if there is none or it cannot be read. */
export function parseBase(text: string | null): Fields | null {
  if (text === null) return null;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed && typeof parsed === "object" && !Array.isArray(parsed) ? (parsed as Fields) : null;
  } catch {
    return null;
  }
}

function canonical(value: Value, json: boolean): string {
  if (value === null) return "null";
  if (typeof value === "number") return `n:${value}`;
  if (!json) return `s:${value}`;
  try {
    return `j:${canonicalJson(JSON.parse(value))}`;
  } catch {
    return `s:${value}`;
  }
}

/** JSON text with object keys sorted at every level: equal for equal values, whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The later of two timestamps (ISO 8601 text); null counts as never; a tie keeps `local`. */
function later(local: Value, remote: Value): Value {
  const l = instant(local);
  const r = instant(remote);
  return r > l ? remote : local;
}

function instant(value: Value): number {
  if (value === null) return -Infinity;
  const ms = typeof value === "number" ? value : Date.parse(value);
  return Number.isNaN(ms) ? -Infinity : ms;
}
