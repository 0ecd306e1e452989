import type { IRequest } from "itty-router";
import { z } from "zod";
import type { Env } from "../env";
import { CsvChunkParser, CsvRecordTooLargeError, type CsvRecord } from "../lib/csv";
import { HttpError, jsonResponse } from "../lib/http";
import { readMultipart } from "../lib/multipart";
import { takeAddressAttempt } from "./attempt-limits";
import { MAX_COLUMNS } from "./csv-limits";
import { readBody } from "./contract";
import { csvLine } from "./csv-output";
import { cleanFileName, deleteOnError, receiveCsv } from "./csv-intake";
import { FilterSyntaxError, parseClause, type Predicate } from "./filter-clauses";
import { optionalUser, requireUser } from "./session";

const SCRATCH_PATH = /^cuts\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.csv$/;
/** The header row must have ended within this many bytes. */
const HEADER_LIMIT = 1024 * 1024;

/** POST /api/list_cutter/csv_cutter/ — stores a CSV to be cut (anonymous allowed, as on legacy). */
export async function csvCutter(request: IRequest, env: Env): Promise<Response> {
  const user = await optionalUser(request, env);
  // Anonymous uploads fill R2 until the sweep: bounded per client address.
  const wait = user ? null : await takeAddressAttempt(env, "scratchUpload", request.headers.get("cf-connecting-ip"));
  if (wait !== null) return jsonResponse({ error: "Too many uploads from this address. Try again later." }, 429, { "retry-after": String(wait) });
  const id = crypto.randomUUID();
  const key = `cuts/${id}.csv`;
  return deleteOnError(env, key, async () => {
    const form = await readMultipart(request, "file", (part, body) => receiveCsv(env, part, body, key));
    if (!form.file) throw new HttpError(400, "No file uploaded", "file");
    const { shape, bytes } = form.file.result;
    await env.DB.prepare(`INSERT INTO scratch_files (id, user_id, file_name, r2_key, size, columns) VALUES (?, ?, ?, ?, ?, ?)`)
      .bind(id, user?.id ?? null, cleanFileName(form.file.part.filename), key, bytes, JSON.stringify(shape.columns))
      .run();
    return jsonResponse({ columns: shape.columns, file_path: key });
  });
}

const exportBody = z.object({
  columns: z
    .array(z.string().max(1024))
    .min(1, "No columns provided.")
    .max(MAX_COLUMNS, `At most ${MAX_COLUMNS} columns.`)
    .refine((c) => new Set(c.map((name) => name.trim())).size === c.length, "Each column may be chosen once."),
  file_path: z.string().min(1, "This field may not be blank.").max(1024),
  filters: z
    .record(z.string().max(1024), z.string().max(10_000))
    .refine((f) => new Set(Object.keys(f).map((name) => name.trim())).size === Object.keys(f).length, "One filter per column.")
    .refine((f) => Object.keys(f).length <= MAX_COLUMNS, `At most ${MAX_COLUMNS} filters.`)
    .default({}),
});

/**
 * POST /api/list_cutter/export_csv/ — the chosen columns of the rows that pass every filter,
 * streamed. `file_path` is only ever looked up in D1 (a csv_cutter upload, or one of the caller's
 * files by R2 key or by its legacy path), never used as an object key itself.
 */
export async function exportCsv(request: IRequest, env: Env): Promise<Response> {
  const { columns, file_path, filters } = await readBody(request, exportBody);
  const key = await sourceKey(request, env, file_path);
  const object = await env.FILES.get(key);
  if (!object) throw new HttpError(404, "File not found.", "file_path");

  const reader = object.body.getReader();
  const parser = new CsvChunkParser();
  let pending: CsvRecord[] = [];
  let read = 0;
  try {
    while (pending.length === 0) {
      const chunk = await reader.read();
      if (chunk.done) {
        pending = parser.end();
        break;
      }
      read += chunk.value.byteLength;
      pending = parser.push(chunk.value);
      if (pending.length === 0 && read > HEADER_LIMIT) break;
    }
  } catch (e) {
    await reader.cancel(e).catch(() => {});
    if (e instanceof CsvRecordTooLargeError) throw new HttpError(400, `The header row of the file is longer than ${e.limitText}.`, "file_path");
    throw e;
  }
  const header = pending.shift()?.fields;
  if (!header) {
    await reader.cancel();
    throw new HttpError(400, "The file has no header row.", "file_path");
  }
  const plan = planCut(header, columns, filters);
  const encoder = new TextEncoder();
  const emit = (records: CsvRecord[]) => encoder.encode(records.filter((r) => plan.keep(r.fields)).map((r) => csvLine(plan.pick(r.fields))).join(""));
  let finished = false;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(csvLine(columns)));
      if (pending.length > 0) controller.enqueue(emit(pending));
    },
    async pull(controller) {
      // Read until some output is ready, so that backpressure paces the R2 reads.
      try {
        while (!finished) {
          const chunk = await reader.read();
          const out = chunk.done ? emit(parser.end()) : emit(parser.push(chunk.value));
          if (chunk.done) finished = true;
          if (out.byteLength > 0) {
            controller.enqueue(out);
            break;
          }
        }
      } catch (e) {
        // A row past the record cap (or a failed read) once the response has started: the body ends in an error.
        await reader.cancel(e).catch(() => {});
        throw e;
      }
      if (finished) controller.close();
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return new Response(body, { headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": 'attachment; filename="filtered.csv"', "x-content-type-options": "nosniff" } });
}

interface CutPlan {
  keep(fields: string[]): boolean;
  pick(fields: string[]): string[];
}

/** Checks the request against the header and compiles the filters. */
export function planCut(header: string[], columns: string[], filters: Record<string, string>): CutPlan {
  const index = new Map(header.map((h, i) => [h.trim(), i] as const));
  const unknown = [...columns, ...Object.keys(filters)].filter((c) => !index.has(c.trim()));
  if (unknown.length > 0) throw new HttpError(400, `Unknown column(s): ${[...new Set(unknown)].join(", ")}`, "columns");
  const predicates: [number, Predicate][] = [];
  for (const [column, clause] of Object.entries(filters)) {
    try {
      const predicate = parseClause(clause);
      if (predicate) predicates.push([index.get(column.trim())!, predicate]);
    } catch (e) {
      if (e instanceof FilterSyntaxError) throw new HttpError(400, `Invalid filter for column '${column}': ${e.message}`, "filters");
      throw e;
    }
  }
  const picks = columns.map((c) => index.get(c.trim())!);
  return {
    keep: (fields) => predicates.every(([i, p]) => p(fields[i] ?? "")),
    pick: (fields) => picks.map((i) => fields[i] ?? ""),
  };
}

async function sourceKey(request: Request, env: Env, filePath: string): Promise<string> {
  const scratch = SCRATCH_PATH.exec(filePath);
  if (scratch) {
    const row = await env.DB.prepare(`SELECT user_id, r2_key FROM scratch_files WHERE id = ?`).bind(scratch[1]).first<{ user_id: number | null; r2_key: string }>();
    if (!row) throw new HttpError(404, "File not found.", "file_path");
    // An anonymous upload is reachable by whoever holds its path (cut a bounded number of times per
    // address); a signed-in user's only by them.
    if (row.user_id === null) {
      const wait = await takeAddressAttempt(env, "scratchExport", request.headers.get("cf-connecting-ip"));
      if (wait !== null) throw new HttpError(429, "Too many cuts from this address. Try again later.", "file_path");
    } else if ((await optionalUser(request, env))?.id !== row.user_id) throw new HttpError(404, "File not found.", "file_path");
    return row.r2_key;
  }
  const user = await requireUser(request, env);
  const row = await env.DB.prepare(`SELECT r2_key FROM files WHERE user_id = ? AND (r2_key = ?2 OR legacy_file_path = ?2) ORDER BY uploaded_at DESC LIMIT 1`)
    .bind(user.id, filePath)
    .first<{ r2_key: string }>();
  if (!row) throw new HttpError(404, "File not found.", "file_path");
  return row.r2_key;
}
