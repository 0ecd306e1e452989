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
}

/**
 * Incremental CSV parsing with papaparse's core Parser: text is fed as it arrives and only the
 * unfinished last record is kept between chunks, so memory is bounded by the longest record, never
 * by the file. Records come back per chunk, so a caller may stop after any batch and resume later
 * at `endByte`.
 */
export class CsvChunkParser {
  #decoder: TextDecoder;
  #partial = "";
  #newline: "\n" | "\r\n" | "\r" | undefined;
  #line: number;
  #bytes = 0;
  #first = true;
  readonly #positions: boolean;

  constructor(options: CsvReaderOptions = {}) {
    // ignoreBOM keeps a BOM in the text so that #parse can count its bytes before dropping it.
    this.#decoder = new TextDecoder("utf-8", { fatal: options.strictUtf8 ?? false, ignoreBOM: true });
    this.#positions = options.positions ?? false;
    this.#line = options.firstLine ?? 1;
  }

  push(chunk: Uint8Array): CsvRecord[] {
    return this.#parse(this.#decoder.decode(chunk, { stream: true }), false);
  }

  end(): CsvRecord[] {
    return this.#parse(this.#decoder.decode(), true);
  }

  #parse(text: string, final: boolean): CsvRecord[] {
    let input = this.#partial + text;
    if (this.#first && input.length > 0) {
      this.#first = false;
      if (input.charCodeAt(0) === 0xfeff) {
        input = input.slice(1);
        this.#bytes += 3;
      }
    }
    this.#newline ??= guessNewline(input, final);
    if (!this.#newline && !final) {
      this.#partial = input;
      return [];
    }
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
    this.#partial = final ? "" : input.slice(result.meta.cursor);
    return records;
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
