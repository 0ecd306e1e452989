import type { IRequest } from "itty-router";
import { z } from "zod";
import type { Env } from "../env";
import { HttpError, jsonResponse, parseWith } from "../lib/http";
import { parseJsonText } from "../lib/json-body";
import { isStorableJson, storable, UNSTORABLE_MESSAGE } from "../lib/storable-text";
import { readMultipart, type MultipartResult } from "../lib/multipart";
import type { TapResult } from "../copy/content-tap";
import { CsvChunkParser } from "../lib/csv";
import { uploadKey } from "../legacy/paths";
import { readBody } from "./contract";
import { cleanFileName, deleteOnError, receiveCsv } from "./csv-intake";
import { MAX_COLUMNS, MAX_PREVIEW_BYTES, MAX_PREVIEW_READ_BYTES } from "./csv-limits";
import { requireUser, type SessionUser } from "./session";
import { FIRST_NEW_ID, SQL_NOW } from "../lib/d1";
import { tombstone } from "../sync/tombstones";
import { recordFileDelete, recordFileUpsert } from "../sync/outbox";
import { legacyRelativePath } from "../sync/reverse-rows";

const PREVIEW_ROWS = 100;

export interface StoredFile {
  id: string;
  num: number;
  legacy_id: number | null;
  user_id: number;
  file_name: string;
  r2_key: string;
  size: number;
  checksum: string;
  row_count: number | null;
  columns_metadata: string;
  system_tags: string;
  user_tags: string;
  metadata: string;
  legacy_file_path: string | null;
  uploaded_at: string;
}

/** The legacy API's view of a file (list_saved_files). */
function legacyShape(row: StoredFile) {
  return {
    id: row.num,
    file_id: row.id,
    file_name: row.file_name,
    file_path: row.legacy_file_path ?? row.r2_key,
    uploaded_at: row.uploaded_at,
    system_tags: JSON.parse(row.system_tags),
    user_tags: JSON.parse(row.user_tags),
    metadata: JSON.parse(row.metadata),
  };
}

/** A file of `user` by its integer id or its file_id; every lookup is owner-scoped. */
export async function ownedFile(env: Env, user: SessionUser, idOrFileId: string): Promise<StoredFile> {
  const row = /^\d{1,15}$/.test(idOrFileId)
    ? await env.DB.prepare(`SELECT * FROM files WHERE user_id = ? AND num = ?`).bind(user.id, Number(idOrFileId)).first<StoredFile>()
    : await env.DB.prepare(`SELECT * FROM files WHERE user_id = ? AND id = ?`).bind(user.id, idOrFileId.toLowerCase()).first<StoredFile>();
  if (!row) throw new HttpError(404, "File not found.", "id");
  return row;
}

interface StoredUpload {
  fileId: string;
  key: string;
  form: MultipartResult<TapResult>;
  copy: TapResult;
  fileName: string;
}

/** Stores an uploaded CSV for `user` in R2, then `record`s it (in D1); if either fails, the object goes too. */
async function storeUpload(env: Env, request: Request, user: SessionUser, record: (stored: StoredUpload) => Promise<void>): Promise<StoredUpload> {
  const fileId = crypto.randomUUID();
  const key = uploadKey(user.id, fileId);
  return deleteOnError(env, key, async () => {
    const form = await readMultipart(request, "file", (part, body) => receiveCsv(env, part, body, key));
    if (!form.file) throw new HttpError(400, "No file uploaded", "file");
    const stored = { fileId, key, form, copy: form.file.result, fileName: cleanFileName(form.fields.filename ?? form.file.part.filename) };
    await record(stored);
    return stored;
  });
}

/** The new file's row and its outbox entry, in one batch. */
async function insertFile(env: Env, user: SessionUser, stored: StoredUpload, systemTags: string[], metadata: unknown): Promise<void> {
  const insert = env.DB.prepare(
    `INSERT INTO files (id, num, user_id, file_name, r2_key, size, checksum, row_count, column_count, columns_metadata, system_tags, metadata, uploaded_at)
     VALUES (?, (SELECT max(coalesce(max(num), 0), ?) + 1 FROM files), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${SQL_NOW})`,
  ).bind(stored.fileId, FIRST_NEW_ID, user.id, stored.fileName, stored.key, stored.copy.bytes, stored.copy.sha256, stored.copy.shape.rowCount, stored.copy.shape.columnCount, JSON.stringify(stored.copy.shape.columns), JSON.stringify(systemTags), JSON.stringify(metadata ?? {}));
  await env.DB.batch([insert, recordFileUpsert(env.DB, stored.fileId, user.id)]);
}

/** POST /api/list_cutter/upload/ */
export async function upload(request: IRequest, env: Env): Promise<Response> {
  const user = await requireUser(request, env);
  const stored = await storeUpload(env, request, user, (upload) => insertFile(env, user, upload, ["uploaded"], {}));
  return jsonResponse({ message: "File uploaded successfully", file_id: stored.fileId });
}

/** POST /api/list_cutter/save_generated_file/ — a cut, stored with its lineage in metadata. */
export async function saveGeneratedFile(request: IRequest, env: Env): Promise<Response> {
  const user = await requireUser(request, env);
  const stored = await storeUpload(env, request, user, async (upload) => {
    const { original_file_id: originalId, metadata: metadataText, filename } = upload.form.fields;
    if (!filename) throw new HttpError(400, "No file or filename provided.", "filename");
    if (!originalId) throw new HttpError(400, "Original file ID must be included in the request.", "original_file_id");
    const source = await ownedFile(env, user, originalId);
    let metadata: Record<string, unknown> = {};
    if (metadataText) {
      const parsed = parseJsonText(metadataText);
      if (!parsed.ok || !parsed.value || typeof parsed.value !== "object" || Array.isArray(parsed.value)) throw new HttpError(400, "metadata must be a JSON object.", "metadata");
      if (!isStorableJson(parsed.value)) throw new HttpError(400, `metadata ${UNSTORABLE_MESSAGE}.`, "metadata");
      metadata = parsed.value as Record<string, unknown>;
    }
    await insertFile(env, user, upload, ["generated"], { ...metadata, source_file_id: source.id, filters: metadata.filters ?? null });
  });
  return jsonResponse({ message: "File saved successfully.", file_path: stored.key, file_id: stored.fileId }, 201);
}

/** GET /api/list_cutter/list_saved_files/ — the newest file per name, as the legacy view lists them. */
export async function listSavedFiles(request: IRequest, env: Env): Promise<Response> {
  const user = await requireUser(request, env);
  const rows = await env.DB.prepare(
    `SELECT f.* FROM files f
     WHERE f.user_id = ?1 AND f.uploaded_at = (SELECT max(g.uploaded_at) FROM files g WHERE g.user_id = ?1 AND g.file_name = f.file_name)
     ORDER BY f.uploaded_at DESC, f.num DESC`,
  )
    .bind(user.id)
    .all<StoredFile>();
  return jsonResponse({ files: rows.results.map(legacyShape) });
}

/** GET /api/list_cutter/download/<filename>/ — the owner's newest file of that name, streamed. */
export async function download(request: IRequest, env: Env): Promise<Response> {
  const user = await requireUser(request, env);
  let name: string;
  try {
    name = decodeURIComponent(request.params.filename ?? "");
  } catch {
    throw new HttpError(404, "File not found", "filename");
  }
  const row = await env.DB.prepare(`SELECT * FROM files WHERE user_id = ? AND file_name = ? ORDER BY uploaded_at DESC LIMIT 1`).bind(user.id, name).first<StoredFile>();
  const object = row ? await env.FILES.get(row.r2_key) : null;
  if (!row || !object) throw new HttpError(404, "File not found", "filename");
  return new Response(object.body, {
    headers: { "content-type": "text/csv; charset=utf-8", "content-length": String(object.size), "content-disposition": attachment(row.file_name), "x-content-type-options": "nosniff" },
  });
}

/** A Content-Disposition that is safe for any file name (RFC 6266 with an RFC 5987 UTF-8 name). */
export function attachment(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

/**
 * DELETE /api/list_cutter/delete/<id>/ — the D1 row and the R2 object; an imported file leaves a
 * tombstone. The row and its tombstone go first, then the object: a copy of the file (a full job's
 * re-copy) that lands before the row is gone writes an object this delete then removes, and one
 * that lands after finds the tombstone and removes its own object (record-copies.ts). The other
 * order left an object that nothing refers to: written between the object's delete and the row's.
 * The outbox entry (what legacy needs to delete it too) goes in the same batch, before the row.
 */
export async function deleteFile(request: IRequest, env: Env): Promise<Response> {
  const user = await requireUser(request, env);
  const row = await ownedFile(env, user, request.params.id ?? "");
  const grave = tombstone(env.DB, "files", row.id, row.legacy_id);
  const outbox = recordFileDelete(env.DB, row.id, user.id, { id: row.num, file_id: row.id, relative_path: legacyRelativePath(row, env.LEGACY_MEDIA_ROOT) });
  await env.DB.batch([outbox, env.DB.prepare(`DELETE FROM files WHERE id = ? AND user_id = ?`).bind(row.id, user.id), ...(grave ? [grave] : [])]);
  await env.FILES.delete(row.r2_key);
  return new Response(null, { status: 204 });
}

/** Tags a file keeps at most (each at most 100 characters): its row stays small. */
const MAX_TAGS = 200;
const tagsBody = z.object({ user_tags: z.array(storable(z.string().trim().min(1).max(100))).max(50) });

/** PATCH /api/list_cutter/update_tags/<id>/ — adds tags (no duplicates). */
export async function updateTags(request: IRequest, env: Env): Promise<Response> {
  const user = await requireUser(request, env);
  const row = await ownedFile(env, user, request.params.id ?? "");
  const { user_tags } = await readBody(request, tagsBody);
  const current = JSON.parse(row.user_tags) as string[];
  const tags = [...new Set([...current, ...user_tags])];
  if (tags.length > MAX_TAGS) throw new HttpError(400, `A file has at most ${MAX_TAGS} tags.`, "user_tags");
  // Nothing new: nothing written, and nothing for legacy to receive (nor a reason to hold the user back).
  if (tags.length === current.length) return jsonResponse({ message: "Tags updated successfully." });
  await env.DB.batch([
    env.DB.prepare(`UPDATE files SET user_tags = ?, changed_on = 'new', updated_at = ${SQL_NOW} WHERE id = ? AND user_id = ?`).bind(JSON.stringify(tags), row.id, user.id),
    recordFileUpsert(env.DB, row.id, user.id),
  ]);
  return jsonResponse({ message: "Tags updated successfully." });
}

/** GET /api/list_cutter/fetch_saved_file/?file_id= — the file's columns and its first rows. */
export async function fetchSavedFile(request: IRequest, env: Env): Promise<Response> {
  const user = await requireUser(request, env);
  const { file_id } = parseWith(z.object({ file_id: z.string().min(1, "File_id is required.").max(64) }), request.query, "query");
  const row = await ownedFile(env, user, file_id);
  // Only the file's first bytes are read: however its rows look (even all blank), a preview is bounded work.
  const object = await env.FILES.get(row.r2_key, { range: { offset: 0, length: MAX_PREVIEW_READ_BYTES } });
  if (!object) throw new HttpError(404, "File not found.", "file_id");
  const whole = object.size <= MAX_PREVIEW_READ_BYTES;
  // The preview is bounded in columns and in bytes as well as in rows.
  let columns: string[] = [];
  const data: Record<string, string>[] = [];
  let held = 0;
  const parser = new CsvChunkParser();
  const reader = object.body.getReader();
  try {
    preview: for (;;) {
      const chunk = await reader.read();
      // Past the bytes read, a last record may be cut short: only a whole file's end is a record's end.
      const records = chunk.done ? (whole ? parser.end() : []) : parser.push(chunk.value);
      for (const record of records) {
        if (columns.length === 0) {
          columns = record.fields.slice(0, MAX_COLUMNS);
          continue;
        }
        const cells = columns.map((_, i) => record.fields[i] ?? "");
        held += cells.reduce((n, cell) => n + cell.length, 0);
        if (data.length >= PREVIEW_ROWS || held > MAX_PREVIEW_BYTES) break preview;
        data.push(Object.fromEntries(columns.map((c, i) => [c, cells[i]!])));
      }
      if (chunk.done) break;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return jsonResponse({ file_id: row.id, file_name: row.file_name, file_path: row.legacy_file_path ?? row.r2_key, columns, row_count: row.row_count, data });
}
