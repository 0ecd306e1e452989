import { CsvChunkParser } from "../lib/csv";

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
}

/**
 * A pass-through stream that counts bytes, hashes them (SHA-256, and MD5 if asked) and counts CSV
 * rows and columns as the bytes go by, so one read of a body yields all of them.
 * It errors as soon as more than `limit` bytes have passed.
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
    this.#header = options.shape === false ? null : new CsvChunkParser();
    this.#records = options.shape === false ? null : new RecordCounter();
  }

  /** Bytes that have passed so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** `source` as it passes through the tap. A source error reaches the reader, not the event loop. */
  tap(source: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
    const transform = new TransformStream<Uint8Array, Uint8Array>({
      transform: async (chunk, controller) => {
        this.#bytes += chunk.byteLength;
        if (this.#bytes > this.limit) throw new TooLargeError(this.limit);
        this.#records?.push(chunk);
        if (this.#header) this.#feedHeader(chunk);
        await Promise.all(this.#hashes.map((h) => h.write(chunk)));
        controller.enqueue(chunk);
      },
    });
    source.pipeTo(transform.writable).catch(() => {});
    return transform.readable;
  }

  /** Call once the stream has been fully read. */
  async result(): Promise<TapResult> {
    if (this.#header) this.#takeHeader(this.#header.end());
    await Promise.all(this.#hashes.map((h) => h.close()));
    const columns = this.#columns ?? [];
    return {
      bytes: this.#bytes,
      sha256: hex(await this.#sha256.digest),
      md5: this.#md5 ? hex(await this.#md5.digest) : "",
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
    if (end < 0) return this.#takeHeader(parser.push(chunk));
    this.#takeHeader([...parser.push(chunk.subarray(0, end + 1)), ...parser.end()]);
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
 * lines). Several hundred MiB/s where a full parse manages tens.
 */
export class RecordCounter {
  #inQuotes = false;
  #lineHasContent = false;
  #count = 0;

  push(bytes: Uint8Array): void {
    let inQuotes = this.#inQuotes;
    let content = this.#lineHasContent;
    let count = this.#count;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (b === 0x22) {
        inQuotes = !inQuotes;
        content = true;
      } else if (b === 0x0a) {
        if (!inQuotes) {
          if (content) count++;
          content = false;
        }
      } else if (b !== 0x0d) content = true;
    }
    this.#inQuotes = inQuotes;
    this.#lineHasContent = content;
    this.#count = count;
  }

  /** The number of records, counting a last one that has no line feed. */
  end(): number {
    return this.#count + (this.#lineHasContent ? 1 : 0);
  }
}

function hex(digest: ArrayBuffer): string {
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
