import type { Env } from "../env";
import { maxFileSize } from "../env";
import { ContentTap, TooLargeError, type TapResult } from "../copy/content-tap";
import { putStream } from "../copy/r2-writer";
import { CsvRecordTooLargeError, DEFAULT_MAX_RECORD_BYTES } from "../lib/csv";
import { TurnTimeoutError } from "../lib/concurrency";
import { HttpError } from "../lib/http";
import { MAX_COLUMNS, MAX_COLUMNS_JSON_BYTES } from "./csv-limits";
import type { FilePart } from "../lib/multipart";

/** How much of an upload is inspected to decide whether it is a CSV. */
const SNIFF_BYTES = 8 * 1024;

/**
 * Receives an uploaded CSV part straight into R2 at `key` (never whole in memory): refuses it past
 * MAX_FILE_SIZE or as soon as a row is longer than DEFAULT_MAX_RECORD_BYTES (413), or when it is not
 * a CSV (415: wrong extension, binary or non-UTF-8 content, no header row), and returns its size,
 * SHA-256 and shape.
 */
export async function receiveCsv(env: Env, part: FilePart, body: ReadableStream<Uint8Array>, key: string): Promise<TapResult> {
  if (!/\.csv$/i.test(part.filename)) {
    await body.cancel().catch(() => {});
    throw new HttpError(415, "Only .csv files are accepted.", "file");
  }
  const limit = maxFileSize(env);
  const tap = new ContentTap(limit, { maxRecordBytes: DEFAULT_MAX_RECORD_BYTES });
  try {
    await putStream(env.FILES, key, tap.tap(body.pipeThrough(sniffCsv())), null, { httpMetadata: { contentType: "text/csv" } }, "upload");
  } catch (e) {
    if (e instanceof TurnTimeoutError) throw new HttpError(503, "The server is busy with other uploads. Please try again in a minute.", "file");
    if (e instanceof TooLargeError) throw new HttpError(413, `File size exceeds ${(limit / (1024 * 1024)).toFixed(2)}MB limit.`, "file");
    if (e instanceof CsvRecordTooLargeError) throw new HttpError(413, `A row of the file is longer than ${e.limitText}.`, "file");
    throw e;
  }
  const result = await tap.result();
  if (result.shape.columnCount === 0) throw new HttpError(415, "The file has no header row; is it a CSV?", "file");
  if (result.shape.columnCount > MAX_COLUMNS || new TextEncoder().encode(JSON.stringify(result.shape.columns)).byteLength > MAX_COLUMNS_JSON_BYTES) {
    throw new HttpError(413, `The file has more than ${MAX_COLUMNS} columns, or column names too long to keep.`, "file");
  }
  return result;
}

/** Fails the stream if its first bytes hold a NUL or are not UTF-8: not a text CSV. */
function sniffCsv(): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  let seen = 0;
  return new TransformStream({
    transform(chunk, controller) {
      if (seen < SNIFF_BYTES) {
        const head = chunk.subarray(0, SNIFF_BYTES - seen);
        seen += head.byteLength;
        if (head.includes(0)) throw new HttpError(415, "The file is binary, not a CSV.", "file");
        try {
          decoder.decode(head, { stream: true });
        } catch {
          throw new HttpError(415, "The file is not UTF-8 text; is it a CSV?", "file");
        }
      }
      controller.enqueue(chunk);
    },
  });
}

/** A display name from an uploaded file name: no directories, no control characters, bounded. */
export function cleanFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? "";
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, "").trim().slice(0, 255);
  return clean || "upload.csv";
}

/** Runs `work`, which stores an upload at `key`; if it fails, the object goes too (no object without a row). */
export async function deleteOnError<T>(env: Env, key: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    await env.FILES.delete(key).catch((cleanup: unknown) => console.error(`could not remove ${key} after a failed upload:`, cleanup));
    throw e;
  }
}
