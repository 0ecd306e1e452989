import type { Env } from "../env";
import { maxFileSize } from "../env";
import { legacySourceUrl, relativeMediaPath } from "../legacy/paths";
import { byteChunks, chunkBytesFor, READ_CHUNK_BYTES, readAtMost } from "../lib/byte-chunks";
import { ContentTap, TooLargeError, type TapOptions, type TapResult } from "./content-tap";
import type { CopyItem, FailureReason } from "./messages";
import { openR2Sink, type R2Sink } from "./r2-writer";

/** A body of known length up to this size is read in one call (one read of chunkBytesFor's size would take it all anyway). */
const WHOLE_BODY_BYTES = READ_CHUNK_BYTES;

/** `identical`: the object was already in R2 with these bytes and was not rewritten. */
export type ItemOutcome = { ok: true; bytes: number; sha256: string; copy?: TapResult; identical?: true } | { ok: false; reason: FailureReason; detail: string };

/** What D1 already says about a file, if it was copied before. */
export interface KnownCopy {
  size: number;
  checksum: string;
}

class ItemFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    detail: string,
  ) {
    super(detail);
  }
}

/**
 * Copies one legacy file: fetch from the legacy origin only, stream into R2 with a known length
 * while hashing and counting CSV shape (the D1 row is written by the caller, for a whole message
 * at once: recordCopies). If D1 records this file with the
 * source's SHA-256 and R2's ETag is the source's MD5 (R2 holds those very bytes), the body is only
 * hashed and the object is not rewritten.
 */
export async function copyFile(env: Env, item: CopyItem, timeoutMs: number, known: KnownCopy | undefined): Promise<ItemOutcome> {
  try {
    const url = sourceUrl(env, item.sourcePath);
    const limit = maxFileSize(env);
    const existing = known ? await env.FILES.head(item.r2Key) : null;
    if (known && existing && existing.size === known.size) {
      const check = await download(url, item, limit, timeoutMs, null, { md5: true });
      const same = check.result.sha256 === known.checksum && check.result.bytes === known.size && check.result.md5 === existing.etag;
      if (same) return { ok: true, bytes: check.result.bytes, sha256: check.result.sha256, copy: check.result, identical: true };
    }
    const copied = await download(url, item, limit, timeoutMs, (length) =>
      openR2Sink(env.FILES, item.r2Key, length, {
        httpMetadata: { contentType: "text/csv" },
        customMetadata: { fileId: item.fileId, legacyId: String(item.record.legacyId) },
      }),
    );
    return { ok: true, bytes: copied.result.bytes, sha256: copied.result.sha256, copy: copied.result };
  } catch (e) {
    if (e instanceof ItemFailure) return { ok: false, reason: e.reason, detail: e.message };
    return { ok: false, reason: "storage", detail: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * The one URL the legacy file at `sourcePath` (relative to LEGACY_MEDIA_ROOT) is fetched from, or
 * why the path is unsafe. The copy and the validation suite's comparison (src/validation/files.ts)
 * both build it here.
 */
export function legacyFileUrl(env: Env, sourcePath: string): { ok: true; url: URL } | { ok: false; detail: string } {
  const root = env.LEGACY_MEDIA_ROOT.replace(/\/+$/, "");
  const checked = relativeMediaPath(`${root}/${sourcePath}`, root);
  if (!checked.ok) return { ok: false, detail: checked.detail };
  return { ok: true, url: legacySourceUrl(checked.relativePath, { origin: env.LEGACY_ORIGIN, mediaUrl: env.LEGACY_MEDIA_URL, mediaRoot: root }) };
}

function sourceUrl(env: Env, sourcePath: string): URL {
  const built = legacyFileUrl(env, sourcePath);
  if (!built.ok) throw new ItemFailure("unsafe_path", built.detail);
  return built.url;
}

/**
 * Fetches the source and reads its whole body through a ContentTap, into the sink `open` gives
 * (or, with null, nowhere), in chunks of up to 256 KiB. Classifies every way it can go wrong into a
 * failure reason.
 */
async function download(url: URL, item: CopyItem, limit: number, timeoutMs: number, open: ((length: number | null) => R2Sink) | null, options: TapOptions = {}): Promise<{ result: TapResult }> {
  const signal = AbortSignal.timeout(timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, { redirect: "manual", signal });
  } catch (e) {
    throw signal.aborted ? new ItemFailure("timeout", `no response within ${timeoutMs} ms`) : new ItemFailure("network", errorText(e));
  }
  const length = contentLength(response);
  try {
    checkResponse(response, length, item, limit);
  } catch (e) {
    await response.body?.cancel().catch(() => {});
    throw e;
  }
  const tap = new ContentTap(limit, options);
  const sink = open?.(length) ?? null;
  const toSink = (write: Promise<void>) => write.catch((e) => Promise.reject(new ItemFailure("storage", `R2 write failed: ${errorText(e)}`)));
  const overLength = () => new ItemFailure("length_mismatch", `received more than the ${length} bytes of its Content-Length`);
  const truncated = () => new ItemFailure("truncated", `received ${tap.bytes} of ${length} bytes`);
  let whole: TapResult | null = null;
  try {
    if (length !== null && length <= WHOLE_BODY_BYTES) {
      // A small body in one read, hashed in one call: most files of a migration are small, and per
      // chunk and per stream costs are most of what copying them costs. A short one is found below.
      const bytes = await readAtMost(response.body ?? emptyBody(), length + 1);
      if (bytes.byteLength > length) throw overLength();
      whole = await tap.whole(bytes);
      if (sink) await toSink(sink.write(bytes));
    } else {
      for await (const chunk of byteChunks(response.body ?? emptyBody(), chunkBytesFor(length))) {
        await tap.push(chunk);
        if (length !== null && tap.bytes > length) throw overLength();
        if (sink) await toSink(sink.write(chunk));
      }
    }
    if (length !== null && tap.bytes < length) throw truncated();
    if (sink) await toSink(sink.close());
  } catch (e) {
    await sink?.abort(e);
    if (e instanceof ItemFailure) throw e;
    if (e instanceof TooLargeError) throw new ItemFailure("too_large", `body exceeds MAX_FILE_SIZE (${limit} bytes)`);
    if (signal.aborted) throw new ItemFailure("timeout", `body not complete within ${timeoutMs} ms`);
    if (length !== null && tap.bytes < length) throw truncated();
    throw new ItemFailure("network", errorText(e));
  }
  const result = whole ?? (await tap.result());
  if (item.expectedSize !== null && result.bytes !== item.expectedSize) {
    throw new ItemFailure("length_mismatch", `received ${result.bytes} bytes, the legacy row declares ${item.expectedSize}`);
  }
  return { result };
}

function checkResponse(response: Response, length: number | null, item: CopyItem, limit: number): void {
  const { status } = response;
  if (status >= 300 && status < 400) throw new ItemFailure("redirect", `HTTP ${status} to ${response.headers.get("location") ?? "?"}; redirects are not followed`);
  if (status === 404 || status === 410) throw new ItemFailure("not_found", `HTTP ${status}`);
  if (status === 429) throw new ItemFailure("http_429", "HTTP 429");
  if (status >= 500) throw new ItemFailure("http_5xx", `HTTP ${status}`);
  if (status !== 200) throw new ItemFailure("http_4xx", `HTTP ${status}`);
  if (length !== null && length > limit) throw new ItemFailure("too_large", `Content-Length ${length} exceeds MAX_FILE_SIZE (${limit} bytes)`);
  if (length !== null && item.expectedSize !== null && length !== item.expectedSize) {
    throw new ItemFailure("length_mismatch", `Content-Length ${length}, the legacy row declares ${item.expectedSize}`);
  }
}

function contentLength(response: Response): number | null {
  const header = response.headers.get("content-length");
  if (header === null || !/^\d+$/.test(header.trim())) return null;
  return Number(header);
}

function emptyBody(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (c) => c.close() });
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
