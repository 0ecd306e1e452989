import Papa from "papaparse";
import { createHash } from "node:crypto";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BUNDLE_COLUMNS, BUNDLE_FORMAT, BUNDLE_TABLES, PART_NAME, type BundleManifest, type BundleTable } from "../../src/sync/reverse-bundle-format.ts";
import type { WorkerApi } from "./worker-api.ts";

/** One bundle record, by column name (every column present; "" is an empty field). */
export type Row = Record<string, string>;

/** Checks a manifest from the Worker before anything is applied from it. */
export function validateManifest(value: unknown, jobId: string): BundleManifest {
  const bad = (why: string): never => {
    throw new Error(`the bundle manifest of job ${jobId} is unusable: ${why}`);
  };
  if (typeof value !== "object" || value === null) bad("not a JSON object");
  const m = value as Partial<BundleManifest>;
  if (m.format !== BUNDLE_FORMAT) bad(`format is ${JSON.stringify(m.format)}, this applier reads ${BUNDLE_FORMAT}`);
  if (m.jobId !== jobId) bad(`it names job ${JSON.stringify(m.jobId)}`);
  const seq = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  if (!seq(m.fromSeq) || !seq(m.toSeq) || m.toSeq! < m.fromSeq!) bad(`fromSeq ${m.fromSeq} / toSeq ${m.toSeq} are not a sequence range`);
  if (typeof m.mediaRoot !== "string" || !m.mediaRoot.startsWith("/")) bad("mediaRoot is not an absolute path");
  for (const table of BUNDLE_TABLES) {
    const parts = m.parts?.[table];
    if (!Array.isArray(parts)) bad(`no part list for ${table}`);
    for (const name of parts!) {
      if (typeof name !== "string" || !PART_NAME.test(name) || !name.startsWith(`${table}-`)) bad(`part ${JSON.stringify(name)} is not a ${table} part`);
    }
    if (!seq(m.counts?.[table])) bad(`no row count for ${table}`);
  }
  return m as BundleManifest;
}

/** Largest bundle part accepted (the Worker writes about 4 MiB); so also the largest field. */
export const PART_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Reads a bundle's parts. The applier reads some tables twice (checks first, writes later): each
 * part's SHA-256 is kept from its first read, and a later read of different bytes fails, so what
 * is written is what was checked.
 */
export class BundleReader {
  readonly #api: WorkerApi;
  readonly #manifest: BundleManifest;
  readonly #digests = new Map<string, string>();

  constructor(api: WorkerApi, manifest: BundleManifest) {
    this.#api = api;
    this.#manifest = manifest;
  }

  /**
   * Streams a table's parts, one after the other, and hands each record to `visit` (awaited: the
   * next record is parsed only after). Memory holds one part's unread chunk at most, and a part
   * (so any one field) of at most PART_MAX_BYTES. Checks each part's header and the table's row
   * count against the manifest.
   */
  async forEachRow(table: BundleTable, visit: (row: Row, where: string) => Promise<void>): Promise<number> {
    const expected = BUNDLE_COLUMNS[table];
    let count = 0;
    for (const name of this.#manifest.parts[table]) {
      const source = await this.#api.part(this.#manifest.jobId, name);
      const hash = createHash("sha256");
      let bytes = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          if (bytes > PART_MAX_BYTES) return done(new Error(`part ${name} is larger than ${PART_MAX_BYTES} bytes: refusing it`));
          hash.update(chunk);
          done(null, chunk);
        },
      });
      // Whole characters only: papaparse decodes each Buffer chunk on its own, which would split a
      // multi-byte character that straddles two chunks.
      meter.setEncoding("utf8");
      let record = 0;
      let columns: string[] = [];
      // When a record fails, pipeline may report the source's AbortError instead: keep the real one.
      let failure: unknown = null;
      try {
        await pipeline(source, meter, Papa.parse(Papa.NODE_STREAM_INPUT, { skipEmptyLines: true }), async (records: AsyncIterable<string[]>) => {
          try {
            for await (const fields of records) {
              record++;
              if (record === 1) {
                columns = checkHeader(fields, expected, name);
                continue;
              }
              const where = `${name} record ${record}`;
              if (fields.length !== columns.length) throw new Error(`${where}: ${fields.length} fields, the header has ${columns.length}`);
              const row: Row = {};
              columns.forEach((column, i) => (row[column] = fields[i]!));
              count++;
              await visit(row, where);
            }
          } catch (error) {
            failure = error;
            throw error;
          }
        });
      } catch (error) {
        throw failure ?? new Error(`reading ${name}: ${(error as Error).message}`);
      }
      if (record === 0) throw new Error(`${name}: empty part (no header row)`);
      const digest = hash.digest("hex");
      const earlier = this.#digests.get(name);
      if (earlier !== undefined && earlier !== digest) throw new Error(`part ${name} changed between two reads: the Worker served different bytes`);
      this.#digests.set(name, digest);
    }
    if (count !== this.#manifest.counts[table]) throw new Error(`${table}: the parts hold ${count} rows, the manifest says ${this.#manifest.counts[table]} (truncated part?)`);
    return count;
  }
}

function checkHeader(fields: string[], expected: readonly string[], part: string): string[] {
  const header = fields.map((f, i) => (i === 0 ? f.replace(/^\uFEFF/, "") : f).trim());
  const missing = expected.filter((c) => !header.includes(c));
  const unknown = header.filter((c) => !expected.includes(c));
  if (missing.length || unknown.length || header.length !== expected.length) {
    throw new Error(`${part}: header ${JSON.stringify(header)} does not match the format's columns ${JSON.stringify(expected)}`);
  }
  return header;
}
