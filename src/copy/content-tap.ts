import { toHex } from "../lib/hex";
import { CsvChunkParser, CsvRecordTooLargeError } from "../lib/csv";

export interface CsvShape {
  rowCount: number;
  columnCount: number;
  columns: string[];
}

export interface TapResult {
  bytes: number;
  sha256: string;
  /** MD5 if asked for ("" otherwise): R2's ETag of a single-part object, which proves what R2 holds. */
  md5: string;
  shape: CsvShape;
}

export class TooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`body exceeds ${limit} bytes`);
  }
}

export interface TapOptions {
  /** Also compute MD5 (only needed to compare with an R2 ETag). */
  md5?: boolean;
  /** Count CSV rows and columns (not needed to verify bytes already known). */
  shape?: boolean;
  /**
   * Refuse a CSV record longer than this many bytes (CsvRecordTooLargeError; needs `shape`). For
   * uploads only: copies take legacy files as they are.
   */
  maxRecordBytes?: number;
}

/** How far into a body the header row is looked for: past it, the shape has no columns. */
const HEADER_BYTES = 1024 * 1024;

/**
 * Counts the bytes of a body, hashes them (SHA-256, and MD5 if asked) and counts CSV rows and
 * columns as they are pushed through, so one read of a body yields all of them. It refuses a
 * chunk that takes the total past `limit` (and, if asked, one that takes a record past
 * `maxRecordBytes`).
 */
export class ContentTap {
  readonly #sha256 = new crypto.DigestStream("SHA-256");
  readonly #md5: DigestStream | null;
  readonly #hashes: WritableStreamDefaultWriter<ArrayBuffer | ArrayBufferView>[];
  /** Parses only until the header row is complete; the records after it are counted by #records. */
  #header: CsvChunkParser | null;
  readonly #records: RecordCounter | null;
  #bytes = 0;
  #columns: string[] | null = null;

  constructor(
    private readonly limit: number,
    options: TapOptions = {},
  ) {
    this.#md5 = options.md5 ? new crypto.DigestStream("MD5") : null;
    this.#hashes = [this.#sha256.getWriter(), ...(this.#md5 ? [this.#md5.getWriter()] : [])];
    this.#header = options.shape === false ? null : new CsvChunkParser({ maxRecordBytes: HEADER_BYTES });
    this.#records = options.shape === false ? null : new RecordCounter(options.maxRecordBytes);
  }

  /** Bytes that have passed so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Takes the next chunk of the body; throws TooLargeError once past the limit (CsvRecordTooLargeError past the record cap). */
  async push(chunk: Uint8Array): Promise<void> {
    this.#bytes += chunk.byteLength;
    if (this.#bytes > this.limit) throw new TooLargeError(this.limit);
    this.#records?.push(chunk);
    if (this.#header) this.#feedHeader(chunk);
    await Promise.all(this.#hashes.map((h) => h.write(chunk)));
  }

  /** `source` as it passes through the tap. A source error reaches the reader, not the event loop. */
  tap(source: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    const transform = new TransformStream<Uint8Array, Uint8Array>({
      transform: async (chunk, controller) => {
        await this.push(chunk);
        controller.enqueue(chunk);
      },
    });
    source.pipeTo(transform.writable).catch(() => {});
    return transform.readable;
  }

  /** Call once the whole body has been pushed. */
  async result(): Promise<TapResult> {
    if (this.#header) this.#takeHeader(this.#header.end());
    await Promise.all(this.#hashes.map((h) => h.close()));
    const columns = this.#columns ?? [];
    return {
      bytes: this.#bytes,
      sha256: toHex(await this.#sha256.digest),
      md5: this.#md5 ? toHex(await this.#md5.digest) : "",
      shape: { rowCount: Math.max(0, (this.#records?.end() ?? 0) - 1), columnCount: columns.length, columns },
    };
  }

  #headerInQuotes = false;

  /** Gives the header parser only the bytes up to the end of the first record. */
  #feedHeader(chunk: Uint8Array): void {
    let end = -1;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === 0x22) this.#headerInQuotes = !this.#headerInQuotes;
      else if (chunk[i] === 0x0a && !this.#headerInQuotes) {
        end = i;
        break;
      }
    }
    const parser = this.#header!;
    try {
      if (end < 0) return this.#takeHeader(parser.push(chunk));
      this.#takeHeader([...parser.push(chunk.subarray(0, end + 1)), ...parser.end()]);
    } catch (e) {
      if (!(e instanceof CsvRecordTooLargeError)) throw e;
      this.#header = null;
    }
  }

  #takeHeader(records: { fields: string[] }[]): void {
    if (records.length === 0) return;
    this.#columns = records[0]!.fields.map((f) => f.trim());
    this.#header = null;
  }
}

/**
 * Counts CSV records in bytes as they pass, without building fields: a record ends at a line feed
 * outside double quotes, and blank lines are not records (as papaparse reads them, skipping empty
 * lines). It jumps from one quote or line feed to the next with indexOf (native, memchr-like), so
 * only the first bytes of a line are looked at one by one. A record longer than `maxRecordBytes`
 * (line feed excluded) throws CsvRecordTooLargeError as soon as the bytes pushed show it.
 */
export class RecordCounter {
  #inQuotes = false;
  #lineHasContent = false;
  #count = 0;
  /** Bytes of the current record pushed so far. */
  #recordBytes = 0;
  readonly #maxRecordBytes: number;

  constructor(maxRecordBytes = Infinity) {
    this.#maxRecordBytes = maxRecordBytes;
  }

  push(bytes: Uint8Array): void {
    const end = bytes.length;
    let inQuotes = this.#inQuotes;
    let content = this.#lineHasContent;
    let count = this.#count;
    let recordBytes = this.#recordBytes;
    let recordStart = 0;
    // The next quote at or after i (end if none): searched again only once i has passed it.
    let quote = -1;
    let i = 0;
    while (i < end) {
      if (inQuotes) {
        const close = bytes.indexOf(QUOTE, i);
        if (close < 0) break;
        inQuotes = false;
        i = close + 1;
        continue;
      }
      if (quote < i) {
        const found = bytes.indexOf(QUOTE, i);
        quote = found < 0 ? end : found;
      }
      const newline = bytes.indexOf(LF, i);
      const stop = newline < 0 ? Math.min(quote, end) : Math.min(quote, newline);
      if (!content) content = hasContent(bytes, i, stop);
      if (stop === end) break;
      if (stop === quote) {
        inQuotes = true;
        content = true;
      } else {
        if (content) count++;
        content = false;
        this.#checkSize(recordBytes + stop - recordStart);
        recordBytes = 0;
        recordStart = stop + 1;
      }
      i = stop + 1;
    }
    this.#recordBytes = recordBytes + end - recordStart;
    this.#checkSize(this.#recordBytes);
    this.#inQuotes = inQuotes;
    this.#lineHasContent = content;
    this.#count = count;
  }

  #checkSize(bytes: number): void {
    if (bytes > this.#maxRecordBytes) throw new CsvRecordTooLargeError(this.#maxRecordBytes);
  }

  /** The number of records, counting a last one that has no line feed. */
  end(): number {
    return this.#count + (this.#lineHasContent ? 1 : 0);
  }
}

const QUOTE = 0x22;
const LF = 0x0a;

/** Whether bytes[from, to) hold anything but carriage returns. */
function hasContent(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0x0d) return true;
  return false;
}
