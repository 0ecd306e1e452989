import Papa from "papaparse";

/** One CSV record as papaparse sees it, with where it ends in the input. */
export interface CsvRecord {
  fields: string[];
  /** 1-based physical line the record starts on (a quoted newline makes a record span lines). */
  line: number;
  /** Line the next record starts on. */
  nextLine: number;
  /** Byte offset just past the record's line break, counted from where reading started. */
  endByte: number;
  /** Papaparse's complaint about this record (unbalanced quotes and the like), if any. */
  error?: string;
}

export interface CsvReaderOptions {
  /** Track byte offsets and line numbers (costs a pass over the text). */
  positions?: boolean;
  /** Line number of the first byte, when resuming part-way into a file. */
  firstLine?: number;
  /** Fail on invalid UTF-8 instead of substituting U+FFFD (needed when byte offsets must be exact). */
  strictUtf8?: boolean;
  /** The most bytes of an unfinished record that are held waiting for its end (default 1 MiB). */
  maxRecordBytes?: number;
}

export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;

/** A record (a line, or lines joined by a quoted field) is longer than the reader's cap. */
export class CsvRecordTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`a CSV record is longer than ${mebibytes(limit)}`);
  }

  /** The limit for people, such as "1 MiB". */
  get limitText(): string {
    return mebibytes(this.limit);
  }
}

function mebibytes(bytes: number): string {
  return `${+(bytes / (1024 * 1024)).toFixed(2)} MiB`;
}

/**
 * Incremental CSV parsing with papaparse's core Parser: text is fed as it arrives and only the
 * unfinished last record is kept between chunks, so memory is bounded by the longest record, never
 * by the file. Records come back per chunk, so a caller may stop after any batch and resume later
 * at `endByte`.
 *
 * Papaparse cannot resume inside a record, so the unfinished one is parsed again from its start.
 * To keep that linear, it is parsed again only once a line break has arrived since the last look
 * (without one no record can have ended) and once it has doubled in length since then; a record
 * whose lines are joined by a quoted field may therefore come back a few chunks after its end. An
 * unfinished record past `maxRecordBytes` throws CsvRecordTooLargeError, after the records before
 * it have been returned.
 */
export class CsvChunkParser {
  #decoder: TextDecoder;
  /** The text of the unfinished record, as it arrived. */
  #held: string[] = [];
  #heldLength = 0;
  #heldBytes = 0;
  /** Whether a line break arrived since papaparse last looked at the held text. */
  #breakSinceParse = false;
  /** The held length at which papaparse looks again. */
  #retryAt = 0;
  #tooLarge = false;
  #newline: "\n" | "\r\n" | "\r" | undefined;
  #line: number;
  #bytes = 0;
  #first = true;
  readonly #positions: boolean;
  readonly #maxRecordBytes: number;

  constructor(options: CsvReaderOptions = {}) {
    // ignoreBOM keeps a BOM in the text so that #parse can count its bytes before dropping it.
    this.#decoder = new TextDecoder("utf-8", { fatal: options.strictUtf8 ?? false, ignoreBOM: true });
    this.#positions = options.positions ?? false;
    this.#line = options.firstLine ?? 1;
    this.#maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  }

  push(chunk: Uint8Array): CsvRecord[] {
    return this.#parse(this.#decoder.decode(chunk, { stream: true }), chunk.byteLength, false);
  }

  end(): CsvRecord[] {
    const text = this.#decoder.decode();
    return this.#parse(text, measure(text, 0, text.length).bytes, true);
  }

  /** `bytes`: the size of what `text` was decoded from (a split character counts where its bytes arrived). */
  #parse(text: string, bytes: number, final: boolean): CsvRecord[] {
    if (this.#tooLarge) throw new CsvRecordTooLargeError(this.#maxRecordBytes);
    if (this.#first && text.length > 0) {
      this.#first = false;
      if (text.charCodeAt(0) === 0xfeff) {
        text = text.slice(1);
        this.#bytes += 3;
        bytes -= 3;
      }
    }
    // Until the newline is known, the held text has no line break but maybe a last \r: the new text (and that \r) decide.
    this.#newline ??= guessNewline(this.#heldEndsWithCr() ? "\r" + text : text, final);
    this.#hold(text, bytes);
    const due = this.#newline !== undefined && this.#breakSinceParse && (this.#heldLength >= this.#retryAt || this.#heldBytes > this.#maxRecordBytes);
    if (!final && !due) {
      if (this.#heldBytes > this.#maxRecordBytes) throw new CsvRecordTooLargeError(this.#maxRecordBytes);
      return [];
    }
    const input = this.#held.join("");
    const records: CsvRecord[] = [];
    let start = 0;
    const parser = new Papa.Parser({
      newline: this.#newline ?? "\n",
      step: (result: Papa.ParseStepResult<string[][]>) => {
        const end = result.meta.cursor;
        const fields = result.data[0] ?? [];
        const record: CsvRecord = { fields, line: this.#line, nextLine: this.#line, endByte: 0 };
        if (result.errors.length > 0) record.error = result.errors.map((e) => e.message).join("; ");
        if (this.#positions) {
          const span = measure(input, start, end);
          this.#bytes += span.bytes;
          this.#line += span.newlines;
          record.endByte = this.#bytes;
          record.nextLine = this.#line;
        }
        start = end;
        if (!(fields.length === 1 && fields[0] === "")) records.push(record);
      },
    });
    const result = parser.parse(input, 0, !final);
    const rest = final ? "" : input.slice(result.meta.cursor);
    this.#held = rest ? [rest] : [];
    this.#heldLength = rest.length;
    this.#heldBytes = measure(rest, 0, rest.length).bytes;
    this.#breakSinceParse = false;
    this.#retryAt = 2 * rest.length;
    if (this.#heldBytes > this.#maxRecordBytes) {
      if (records.length === 0) throw new CsvRecordTooLargeError(this.#maxRecordBytes);
      this.#tooLarge = true;
    }
    return records;
  }

  #hold(text: string, bytes: number): void {
    this.#heldBytes += bytes;
    if (text.length === 0) return;
    this.#held.push(text);
    this.#heldLength += text.length;
    this.#breakSinceParse ||= text.includes("\n") || text.includes("\r");
  }

  #heldEndsWithCr(): boolean {
    return this.#held.at(-1)?.endsWith("\r") ?? false;
  }
}

function guessNewline(text: string, final: boolean): "\n" | "\r\n" | "\r" | undefined {
  const i = text.search(/[\r\n]/);
  if (i < 0) return final ? "\n" : undefined;
  if (text[i] === "\n") return "\n";
  if (i + 1 < text.length) return text[i + 1] === "\n" ? "\r\n" : "\r";
  return final ? "\r" : undefined;
}

/** UTF-8 byte length and line breaks of text[start, end), without allocating. */
function measure(text: string, start: number, end: number): { bytes: number; newlines: number } {
  let bytes = 0;
  let newlines = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) {
      bytes += 1;
      if (c === 10) newlines++;
    } else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return { bytes, newlines };
}

/** Reads a byte stream as CSV, yielding the records of each chunk as they arrive. */
export async function* csvRecordBatches(
  stream: ReadableStream<Uint8Array>,
  options: CsvReaderOptions = {},
): AsyncGenerator<CsvRecord[]> {
  const parser = new CsvChunkParser(options);
  const reader = stream.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const records = parser.push(value);
      if (records.length > 0) yield records;
    }
    finished = true;
    const rest = parser.end();
    if (rest.length > 0) yield rest;
  } finally {
    // A consumer that stops early must not leave the body half-read.
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
