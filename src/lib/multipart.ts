import { HttpError } from "./http";

/**
 * A streaming multipart/form-data reader. Text fields are collected (bounded); the one file part is
 * handed to `onFile` as a stream while the body is still arriving, so an upload is never held whole.
 */

const MAX_FIELD_BYTES = 64 * 1024;
const MAX_HEADER_BYTES = 16 * 1024;
const MAX_PARTS = 20;

export interface FilePart {
  field: string;
  filename: string;
  contentType: string;
}

export interface MultipartResult<T> {
  fields: Record<string, string>;
  file: { part: FilePart; result: T } | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export async function readMultipart<T>(
  request: Request,
  fileField: string,
  onFile: (part: FilePart, body: ReadableStream<Uint8Array>) => Promise<T>,
): Promise<MultipartResult<T>> {
  const boundary = /^multipart\/form-data;.*\bboundary="?([^";]{1,70})"?/i.exec(request.headers.get("content-type") ?? "")?.[1];
  if (!boundary) throw new HttpError(400, "expected a multipart/form-data body with a boundary", "content-type");
  if (!request.body) throw new HttpError(400, "the request has no body", "body");
  const reader = request.body.getReader();
  const delimiter = encoder.encode(`\r\n--${boundary}`);
  // Prepending CRLF lets the first boundary be found like every other one.
  let buffer: Uint8Array = encoder.encode("\r\n");
  let done = false;
  const fields: Record<string, string> = {};
  let file: MultipartResult<T>["file"] = null;

  const fill = async (): Promise<boolean> => {
    if (done) return false;
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch {
      // The client went away or sent a broken body: its fault, not a server error.
      throw new HttpError(400, "the request body could not be read to its end", "body");
    }
    if (chunk.done) {
      done = true;
      return false;
    }
    buffer = concat(buffer, chunk.value);
    return true;
  };
  const malformed = (why: string) => new HttpError(400, `malformed multipart body: ${why}`, "body");

  // Preamble, up to and including the first delimiter.
  for (;;) {
    const i = indexOf(buffer, delimiter);
    if (i >= 0) {
      buffer = buffer.subarray(i + delimiter.length);
      break;
    }
    if (buffer.length > MAX_HEADER_BYTES) throw malformed("no opening boundary");
    if (!(await fill())) throw malformed("no opening boundary");
  }

  for (let parts = 0; ; parts++) {
    while (buffer.length < 2 && (await fill()));
    if (buffer[0] === 0x2d && buffer[1] === 0x2d) break; // "--": the closing delimiter
    if (parts >= MAX_PARTS) throw malformed(`more than ${MAX_PARTS} parts`);
    let headerEnd: number;
    while ((headerEnd = indexOf(buffer, encoder.encode("\r\n\r\n"))) < 0) {
      if (buffer.length > MAX_HEADER_BYTES || !(await fill())) throw malformed("unterminated part headers");
    }
    const headers = decoder.decode(buffer.subarray(2, headerEnd));
    buffer = buffer.subarray(headerEnd + 4);
    const disposition = /^content-disposition:\s*form-data(.*)$/im.exec(headers)?.[1] ?? "";
    const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
    const filename = /;\s*filename="([^"]*)"/i.exec(disposition)?.[1];
    if (name === undefined) throw malformed("a part without a name");

    // The part's body, streamed until the next delimiter.
    const isFile: boolean = filename !== undefined && name === fileField && file === null;
    const part: FilePart = { field: name, filename: filename ?? "", contentType: /^content-type:\s*(.+)$/im.exec(headers)?.[1]?.trim() ?? "application/octet-stream" };
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const consumer: Promise<T | string> = isFile ? onFile(part, readable) : collectText(readable, name);
    let partError: unknown = null;
    // A consumer that gives up must not leave a write waiting forever for it.
    consumer.catch((e: unknown) => {
      partError = e;
      writer.abort(e).catch(() => {});
    });
    try {
      for (;;) {
        const i = indexOf(buffer, delimiter);
        if (i >= 0) {
          if (i > 0) await writer.write(buffer.slice(0, i));
          buffer = buffer.subarray(i + delimiter.length);
          break;
        }
        const safe = buffer.length - delimiter.length;
        if (safe > 0) {
          await writer.write(buffer.slice(0, safe));
          buffer = buffer.subarray(safe);
        }
        if (partError) throw partError;
        if (!(await fill())) throw malformed("the body ends inside a part");
      }
      await writer.close();
    } catch (e) {
      await writer.abort(e).catch(() => {});
      await consumer.catch(() => {});
      await reader.cancel().catch(() => {});
      throw partError ?? e;
    }
    const value: T | string = await consumer;
    if (isFile) file = { part, result: value as T };
    else if (filename === undefined) fields[name] = value as string;
    while (buffer.length < 2 && (await fill()));
  }
  await reader.cancel().catch(() => {});
  return { fields, file };
}

async function collectText(stream: ReadableStream<Uint8Array>, name: string): Promise<string> {
  let text = "";
  let bytes = 0;
  const textDecoder = new TextDecoder();
  for await (const chunk of stream) {
    bytes += chunk.byteLength;
    if (bytes > MAX_FIELD_BYTES) throw new HttpError(413, `field '${name}' is larger than ${MAX_FIELD_BYTES} bytes`, name);
    text += textDecoder.decode(chunk, { stream: true });
  }
  return text + textDecoder.decode();
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  const first = needle[0]!;
  for (let i = haystack.indexOf(first); i >= 0 && i <= haystack.length - needle.length; i = haystack.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}
