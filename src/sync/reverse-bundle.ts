import { BUNDLE_COLUMNS, BUNDLE_FORMAT, BUNDLE_TABLES, bundlePrefix, PART_NAME, partName, type BundleManifest, type BundleTable } from "./reverse-bundle-format";

/**
 * Writing a reverse-sync bundle to R2 (layout and columns: reverse-bundle-format.ts). Each part is
 * built and written whole by one planning step (at most PART_ROWS rows and about PART_MAX_BYTES),
 * never the whole bundle at once; the manifest is written last.
 */

/** A part is closed once its text passes this many bytes, even below PART_ROWS rows. */
export const PART_MAX_BYTES = 4 * 1024 * 1024;

/** Builds one part's CSV text: the header, then RFC 4180 lines; `bytes` is its UTF-8 length so far. */
export class PartBuilder {
  #chunks: string[];
  #rows = 0;
  #bytes = 0;

  constructor(readonly table: BundleTable) {
    const header = csvLine(BUNDLE_COLUMNS[table]);
    this.#chunks = [header];
    this.#bytes = utf8Bytes(header);
  }

  add(fields: readonly (string | number | null)[]): void {
    if (fields.length !== BUNDLE_COLUMNS[this.table].length) throw new Error(`a ${this.table} line has ${fields.length} fields, not ${BUNDLE_COLUMNS[this.table].length}`);
    const line = csvLine(fields);
    this.#chunks.push(line);
    this.#rows++;
    this.#bytes += utf8Bytes(line);
  }

  get rows(): number {
    return this.#rows;
  }

  get full(): boolean {
    return this.#bytes >= PART_MAX_BYTES;
  }

  text(): string {
    return this.#chunks.join("");
  }
}

/** Writes part `index` (from 0) of `table`; returns its name. */
export async function putPart(bucket: R2Bucket, jobId: string, part: PartBuilder, index: number): Promise<string> {
  const name = partName(part.table, index);
  await bucket.put(bundlePrefix(jobId) + name, part.text(), { httpMetadata: { contentType: "text/csv; charset=utf-8" } });
  return name;
}

export interface BundleSummary {
  jobId: string;
  fromSeq: number;
  toSeq: number;
  createdAt: number;
  mediaRoot: string;
  /** Parts written per table, and rows. */
  parts: Record<BundleTable, number>;
  counts: Record<BundleTable, number>;
}

export function manifestOf(summary: BundleSummary): BundleManifest {
  return {
    format: BUNDLE_FORMAT,
    jobId: summary.jobId,
    fromSeq: summary.fromSeq,
    toSeq: summary.toSeq,
    createdAt: new Date(summary.createdAt).toISOString(),
    mediaRoot: summary.mediaRoot.replace(/\/+$/, ""),
    parts: Object.fromEntries(BUNDLE_TABLES.map((t) => [t, Array.from({ length: summary.parts[t] }, (_, i) => partName(t, i))])) as Record<BundleTable, string[]>,
    counts: { ...summary.counts },
  };
}

export const MANIFEST_NAME = "manifest.json";

export async function putManifest(bucket: R2Bucket, summary: BundleSummary): Promise<void> {
  await bucket.put(bundlePrefix(summary.jobId) + MANIFEST_NAME, JSON.stringify(manifestOf(summary), null, 2), { httpMetadata: { contentType: "application/json" } });
}

/**
 * One CSV line (CRLF). A null is an empty field (NULL); an empty string is `""`, so that PostgreSQL's
 * COPY ... CSV also reads it as an empty string, not NULL; fields holding a quote, comma, CR or LF
 * are quoted. No formula neutralising: the bundle carries the values exactly.
 */
export function csvLine(fields: readonly (string | number | null)[]): string {
  return fields.map(csvField).join(",") + "\r\n";
}

function csvField(value: string | number | null): string {
  if (value === null) return "";
  const text = String(value);
  if (text === "") return '""';
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const encoder = new TextEncoder();

function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

/** Whether `table` and `index` name a part a bundle with these part counts holds. */
export function holdsPart(parts: Record<BundleTable, number>, name: string): boolean {
  if (!PART_NAME.test(name)) return false;
  const table = BUNDLE_TABLES.find((t) => name.startsWith(`${t}-`))!;
  const index = Number(name.slice(table.length + 1, -".csv".length)) - 1;
  return index >= 0 && index < (parts[table] ?? 0);
}
