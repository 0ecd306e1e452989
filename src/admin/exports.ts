import type { IRequest } from "itty-router";
import { z } from "zod";
import type { Env } from "../env";
import { coordinator } from "../env";
import { exportSetName } from "../coordinator/model";
import { putStream } from "../copy/r2-writer";
import { CsvChunkParser } from "../lib/csv";
import { HttpError, jsonResponse, parseWith } from "../lib/http";
import { EXPORT_TABLES, exportObjectKey, missingColumns, type ExportTable } from "../legacy/export-contract";
import { audit } from "../audit";
import { operator } from "./auth";

/** How far into an upload the header row must have ended. */
const HEADER_LIMIT_BYTES = 1024 * 1024;
const MAX_EXPORT_BYTES = 4 * 1024 ** 3;

export const exportSetParams = z.object({ set: exportSetName });
export const exportParams = exportSetParams.extend({ table: z.enum(EXPORT_TABLES) });

/** PUT /admin/exports/:set/:table — streams one export CSV into R2, refusing a bad header. */
export async function putExport(request: IRequest, env: Env): Promise<Response> {
  const { set, table } = parseWith(exportParams, request.params, "path");
  const lengthHeader = request.headers.get("content-length");
  if (lengthHeader === null) throw new HttpError(411, "Content-Length is required", "content-length");
  const length = Number(lengthHeader);
  if (!Number.isSafeInteger(length) || length <= 0) throw new HttpError(400, "body is empty", "body");
  if (length > MAX_EXPORT_BYTES) throw new HttpError(413, `exports are limited to ${MAX_EXPORT_BYTES} bytes`, "body");
  if (!request.body) throw new HttpError(400, "body is empty", "body");

  const header = new HeaderCheck(table);
  try {
    await putStream(env.FILES, exportObjectKey(set, table), request.body.pipeThrough(header.stream()), length, {
      httpMetadata: { contentType: "text/csv" },
      customMetadata: { table, columns: JSON.stringify(header.columns ?? []) },
    });
  } catch (e) {
    if (e instanceof HttpError) throw e;
    throw new HttpError(400, `upload failed: ${e instanceof Error ? e.message : String(e)}`, "body");
  }
  // The coordinator learns which sets are complete, and when: a cutover run waits for a fresh one.
  const stored = await env.FILES.head(exportObjectKey(set, table));
  await coordinator(env).exportUploaded(set, table, stored?.uploaded.getTime() ?? Date.now(), length);
  await audit(env, { actor: operator(request), action: "export.upload", target: `${set}/${table}`, details: { bytes: length, columns: header.columns } });
  return jsonResponse({ set, table, bytes: length, columns: header.columns }, 201);
}

/** GET /admin/exports/:set — what has been uploaded to a set. */
export async function getExportSet(request: IRequest, env: Env): Promise<Response> {
  const { set } = parseWith(exportSetParams, request.params, "path");
  const tables = [];
  for (const table of EXPORT_TABLES) {
    const head = await env.FILES.head(exportObjectKey(set, table));
    if (head) tables.push({ table, bytes: head.size, uploadedAt: head.uploaded.toISOString() });
  }
  if (tables.length === 0) throw new HttpError(404, `no export set '${set}'`, "set");
  return jsonResponse({ set, tables });
}

/**
 * Passes bytes through, failing the stream (and so the R2 put) if the header lacks a required
 * column. Bytes are held back (at most HEADER_LIMIT_BYTES) until the header has been seen, so a bad
 * or missing header fails the upload before R2 has received every byte it was promised.
 */
class HeaderCheck {
  columns: string[] | null = null;
  readonly #parser = new CsvChunkParser();
  #held: Uint8Array[] = [];
  #heldBytes = 0;

  constructor(private readonly table: ExportTable) {}

  stream(): TransformStream<Uint8Array, Uint8Array> {
    return new TransformStream({
      transform: (chunk, controller) => {
        if (this.columns !== null) return controller.enqueue(chunk);
        this.#held.push(chunk);
        this.#heldBytes += chunk.byteLength;
        this.#inspect(this.#parser.push(chunk));
        if (this.columns !== null) this.#release(controller);
        else if (this.#heldBytes > HEADER_LIMIT_BYTES) {
          throw new HttpError(400, `no header row within the first ${HEADER_LIMIT_BYTES} bytes`, "body");
        }
      },
      flush: (controller) => {
        if (this.columns === null) this.#inspect(this.#parser.end());
        if (this.columns === null) throw new HttpError(400, "the CSV has no header row", "body");
        this.#release(controller);
      },
    });
  }

  #release(controller: TransformStreamDefaultController<Uint8Array>): void {
    for (const chunk of this.#held) controller.enqueue(chunk);
    this.#held = [];
  }

  #inspect(records: { fields: string[] }[]): void {
    const first = records[0];
    if (!first) return;
    const columns = first.fields.map((f) => f.trim());
    const missing = missingColumns(this.table, columns);
    if (missing.length > 0) throw new HttpError(400, `${this.table}.csv is missing required column(s): ${missing.join(", ")}`, missing[0]);
    this.columns = columns;
  }
}
