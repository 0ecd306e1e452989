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

/**
 * A pass-through stream that counts bytes, hashes them (SHA-256 and MD5, crypto.DigestStream) and
 * counts CSV rows and columns as the bytes go by, so one read of a body yields all three.
 * It errors as soon as more than `limit` bytes have passed.
 */
export interface TapOptions {
  /** Also compute MD5 (only needed to compare with an R2 ETag). */
  md5?: boolean;
  /** Count CSV rows and columns (not needed to verify bytes already known). */
  shape?: boolean;
}

export class ContentTap {
  readonly #sha256 = new crypto.DigestStream("SHA-256");
  readonly #md5: DigestStream | null;
  readonly #hashes: WritableStreamDefaultWriter<ArrayBuffer | ArrayBufferView>[];
  readonly #csv: CsvChunkParser | null;
  #bytes = 0;
  #records = 0;
  #columns: string[] | null = null;

  constructor(
    private readonly limit: number,
    options: TapOptions = {},
  ) {
    this.#md5 = options.md5 ? new crypto.DigestStream("MD5") : null;
    this.#hashes = [this.#sha256.getWriter(), ...(this.#md5 ? [this.#md5.getWriter()] : [])];
    this.#csv = options.shape === false ? null : new CsvChunkParser();
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
        if (this.#csv) this.#count(this.#csv.push(chunk));
        await Promise.all(this.#hashes.map((h) => h.write(chunk)));
        controller.enqueue(chunk);
      },
    });
    source.pipeTo(transform.writable).catch(() => {});
    return transform.readable;
  }

  /** Call once the stream has been fully read. */
  async result(): Promise<TapResult> {
    if (this.#csv) this.#count(this.#csv.end());
    await Promise.all(this.#hashes.map((h) => h.close()));
    const columns = this.#columns ?? [];
    return {
      bytes: this.#bytes,
      sha256: hex(await this.#sha256.digest),
      md5: this.#md5 ? hex(await this.#md5.digest) : "",
      shape: { rowCount: Math.max(0, this.#records - 1), columnCount: columns.length, columns },
    };
  }

  #count(records: { fields: string[] }[]): void {
    if (records.length === 0) return;
    this.#columns ??= records[0]!.fields.map((f) => f.trim());
    this.#records += records.length;
  }
}

function hex(digest: ArrayBuffer): string {
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
