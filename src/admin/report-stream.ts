import { csvLine } from "../app/csv-output";
import type { MigrationCoordinator } from "../coordinator/coordinator";
import { MAX_REPORT_PAGE, type ReportHead, type ReportPage, type RowErrorCursor } from "../coordinator/report";
import { unwrap, type Outcome } from "../lib/outcome";

export type ReportVariant = "full" | "errors";
export type ReportFormat = "csv" | "json";

/** Where a report's pages come from. */
export type ReportSource = DurableObjectStub<MigrationCoordinator>;

type SectionKey = "items" | "rowErrors" | "conflicts";
type EntryKind = "item" | "row" | "conflict";

/** The CSV columns: every entry fills those its section has; `kind` tells the sections apart. */
export const REPORT_COLUMNS = ["kind", "fileId", "outcome", "sourcePath", "r2Key", "bytes", "sha256", "attempts", "reason", "detail", "table", "line", "conflictId"] as const;

interface Section {
  key: SectionKey;
  kind: EntryKind;
  pages: AsyncIterable<readonly object[]>;
}

interface Encoding {
  contentType: string;
  begin(head: ReportHead, variant: ReportVariant): string;
  open(key: SectionKey): string;
  entries(kind: EntryKind, entries: readonly object[], first: boolean): string;
  close(): string;
  end(): string;
}

const ENCODINGS: Record<ReportFormat, Encoding> = {
  // Paths and details come from legacy data: formulae neutralised, like every CSV we serve.
  csv: {
    contentType: "text/csv; charset=utf-8",
    begin: () => csvLine(REPORT_COLUMNS),
    open: () => "",
    entries: (kind, entries) => entries.map((entry) => csvLine(REPORT_COLUMNS.map((c) => (c === "kind" ? kind : String((entry as Record<string, unknown>)[c] ?? ""))))).join(""),
    close: () => "",
    end: () => "",
  },
  json: {
    contentType: "application/json; charset=utf-8",
    begin: (head, variant) => `{"job":${JSON.stringify(head.job)},"variant":${JSON.stringify(variant)},"summary":${JSON.stringify(head.summary)}`,
    open: (key) => `,${JSON.stringify(key)}:[`,
    entries: (_kind, entries, first) => (first ? "" : ",") + entries.map((entry) => JSON.stringify(entry)).join(","),
    close: () => "]",
    end: () => "}",
  },
};

export interface ReportOptions {
  variant: ReportVariant;
  format: ReportFormat;
}

/**
 * A job's report, streamed: the job's items (every one, or with the errors variant the failed
 * ones), then its bad export rows and the conflicts it met. Each pull of the body reads one page
 * of at most `pageSize` entries from the coordinator, so no report is ever held whole. The head
 * (job and summary) is read first, so an unknown job is a 404 rather than a broken body; the pages
 * are read as the client takes them, so a running job's report shows each page as it was then.
 */
export async function reportResponse(source: ReportSource, id: string, { variant, format }: ReportOptions, pageSize = MAX_REPORT_PAGE): Promise<Response> {
  const head = unwrap(await source.reportSummary(id));
  const encoding = ENCODINGS[format];
  const filename = `job-${id}-report${variant === "errors" ? "-errors" : ""}.${format}`;
  return new Response(textStream(reportChunks(head, variant, encoding, sections(source, id, variant === "errors", pageSize))), {
    headers: { "content-type": encoding.contentType, "content-disposition": `attachment; filename="${filename}"`, "x-content-type-options": "nosniff" },
  });
}

function sections(source: ReportSource, id: string, errorsOnly: boolean, pageSize: number): Section[] {
  return [
    { key: "items", kind: "item", pages: paged("", (after) => source.reportItems(id, after, pageSize, errorsOnly)) },
    { key: "rowErrors", kind: "row", pages: paged<object, RowErrorCursor>({ table: "", line: 0 }, (after) => source.reportRowErrors(id, after, pageSize)) },
    { key: "conflicts", kind: "conflict", pages: paged(0, (after) => source.reportConflicts(id, after, pageSize)) },
  ];
}

/** The non-empty pages of a keyset-paged list, one coordinator call per page, from cursor `first` on. */
async function* paged<T, C>(first: C, read: (after: C) => Promise<Outcome<ReportPage<T, C>>>): AsyncGenerator<T[]> {
  for (let after: C | null = first; after !== null; ) {
    const page: ReportPage<T, C> = unwrap(await read(after));
    if (page.entries.length > 0) yield page.entries;
    after = page.next;
  }
}

async function* reportChunks(head: ReportHead, variant: ReportVariant, encoding: Encoding, sections: readonly Section[]): AsyncGenerator<string> {
  yield encoding.begin(head, variant);
  for (const { key, kind, pages } of sections) {
    let prefix = encoding.open(key);
    let first = true;
    for await (const entries of pages) {
      yield prefix + encoding.entries(kind, entries, first);
      prefix = "";
      first = false;
    }
    yield prefix + encoding.close();
  }
  yield encoding.end();
}

/** A byte stream that takes the next non-empty chunk of `chunks` on each pull. */
function textStream(chunks: AsyncGenerator<string>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const next = await chunks.next();
          if (next.done) return controller.close();
          if (next.value !== "") return controller.enqueue(encoder.encode(next.value));
        }
      } catch (e) {
        // The response has started: the body ends in an error, and the cause is logged.
        console.error("job report stream failed:", e);
        throw e;
      }
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
}
