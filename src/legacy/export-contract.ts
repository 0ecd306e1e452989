import { z } from "zod";
import { isUuid } from "./paths";
import { parsePgArray, parsePgBoolean, parsePgTimestamp } from "./postgres-literals";

/**
 * The legacy export contract (shared/DESIGN.md): CSVs written by `psql \copy (...) TO ... CSV HEADER`
 * from auth_user, list_cutter_savedfile and the saved filters. Extra columns are ignored; a missing
 * required column is an error that names it.
 */

export const EXPORT_TABLES = ["users", "files", "filters"] as const;
export type ExportTable = (typeof EXPORT_TABLES)[number];
export const REQUIRED_TABLES: readonly ExportTable[] = ["users", "files"];
/** Linux's PATH_MAX: no real path is longer, and the preflight keeps paths it samples or reports in memory. */
export const MAX_FILE_PATH_LENGTH = 4096;

const legacyId = z.string().trim().regex(/^\d+$/, "must be a positive integer").transform(Number).pipe(z.number().int().positive().max(Number.MAX_SAFE_INTEGER));
const text = z.string();
const pg = <T>(parse: (s: string) => T) =>
  z.string().transform((s, ctx) => {
    try {
      return parse(s);
    } catch (e) {
      ctx.addIssue({ code: "custom", message: (e as Error).message });
      return z.NEVER;
    }
  });
const requiredTimestamp = pg(parsePgTimestamp).refine((v): v is string => v !== null, "is required");
const jsonText = pg((s) => (s.trim() === "" ? {} : JSON.parse(s)) as unknown);
const uuid = z.string().trim().refine(isUuid, "must be a UUID").transform((s) => s.toLowerCase());

const userRow = z.object({
  id: legacyId,
  username: text.min(1, "is required").max(150),
  email: text,
  password: text.min(1, "is required"),
  first_name: text,
  last_name: text,
  date_joined: requiredTimestamp,
  last_login: pg(parsePgTimestamp),
  is_active: pg(parsePgBoolean),
  is_staff: pg(parsePgBoolean),
  is_superuser: pg(parsePgBoolean),
});

const fileRow = z.object({
  id: legacyId,
  user_id: legacyId,
  file_id: uuid,
  file_name: text.min(1, "is required").max(255),
  file_path: text.min(1, "is required").max(MAX_FILE_PATH_LENGTH, `must be at most ${MAX_FILE_PATH_LENGTH} characters`),
  uploaded_at: requiredTimestamp,
  system_tags: pg(parsePgArray),
  user_tags: pg(parsePgArray),
  metadata: jsonText,
});

const filterRow = z.object({
  id: legacyId,
  user_id: legacyId,
  file_id: z.string().trim().transform((s) => (s === "" ? null : s)).pipe(uuid.nullable()),
  name: text.min(1, "is required").max(255),
  description: text,
  filter_config: jsonText,
  created_at: requiredTimestamp,
});

export type UserRow = z.output<typeof userRow>;
export type FileRow = z.output<typeof fileRow>;
export type FilterRow = z.output<typeof filterRow>;

export const ROW_SCHEMAS = { users: userRow, files: fileRow, filters: filterRow } as const;
export type ExportRow<T extends ExportTable> = z.output<(typeof ROW_SCHEMAS)[T]>;

export function requiredColumns(table: ExportTable): string[] {
  return Object.keys(ROW_SCHEMAS[table].shape);
}

/** Column names the header lacks, in contract order. */
export function missingColumns(table: ExportTable, header: readonly string[]): string[] {
  const present = new Set(header.map((h) => h.trim()));
  return requiredColumns(table).filter((c) => !present.has(c));
}

export type RowResult<T extends ExportTable> = { ok: true; row: ExportRow<T> } | { ok: false; error: string };

/** Validates one CSV record against the table's contract; the error names the failing column. */
export function decodeRow<T extends ExportTable>(table: T, header: readonly string[], fields: readonly string[]): RowResult<T> {
  if (fields.length !== header.length) {
    return { ok: false, error: `expected ${header.length} fields, found ${fields.length}` };
  }
  const record: Record<string, string> = {};
  header.forEach((name, i) => (record[name.trim()] = fields[i]!));
  const parsed = ROW_SCHEMAS[table].safeParse(record);
  if (parsed.success) return { ok: true, row: parsed.data as ExportRow<T> };
  const issue = parsed.error.issues[0]!;
  return { ok: false, error: `${issue.path.join(".") || "row"}: ${issue.message}` };
}

/** R2 key of an uploaded export table. `set` is validated by the caller (exportSetName). */
export function exportObjectKey(set: string, table: ExportTable): string {
  return `exports/${set}/${table}.csv`;
}
