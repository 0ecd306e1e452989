// A preview of a cut from the API's own export: its first rows are read as they stream in (with the
// server's CSV reader) and the rest is never downloaded. So the preview shows exactly what an export
// holds, filter semantics and formula neutralising included.
import { csvRecordBatches } from "../../src/lib/csv";
import { api, type CutRequest } from "./api";

export interface Preview {
  header: string[];
  rows: string[][];
  /** Every passing row is in `rows` (the export ended before the limit). */
  complete: boolean;
}

export async function previewCut(request: CutRequest, limit: number, signal: AbortSignal): Promise<Preview> {
  const res = await api.cut(request, signal);
  let header: string[] | null = null;
  const rows: string[][] = [];
  for await (const batch of csvRecordBatches(res.body!)) {
    for (const record of batch) {
      if (header === null) header = record.fields;
      else if (rows.length < limit) rows.push(record.fields);
      // Leaving the loop cancels the response body.
      else return { header, rows, complete: false };
    }
  }
  return { header: header ?? request.columns, rows, complete: true };
}
