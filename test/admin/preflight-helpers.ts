import { env } from "cloudflare:workers";
import { originUrl, postJson } from "../helpers";

/** The fixture origin's export of `table` (main files) with `rows` appended, each cell by column name. */
export async function exportWith(table: "users" | "files" | "filters", rows: Record<string, string | number>[]): Promise<string> {
  const csv = await (await fetch(`${originUrl}/__exports/${table}.csv?files=main`)).text();
  const header = csv.slice(0, csv.indexOf("\n")).split(",");
  const cell = (v: string | number | undefined) => {
    const text = String(v ?? "");
    return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
  };
  return csv + rows.map((row) => header.map((column) => cell(row[column])).join(",") + "\n").join("");
}

export function preflight(body: unknown): Promise<{ status: number; body: any }> {
  return postJson("/admin/cutover/preflight", body);
}

/** Everything a preflight must leave as it was: D1's tables and R2's objects. */
export async function storedState(): Promise<{ d1: Record<string, string[]>; r2: string[] }> {
  const d1: Record<string, string[]> = {};
  for (const table of ["users", "files", "saved_filters", "tombstones", "outbox", "audit_logs"]) {
    const { results } = await env.DB.prepare(`SELECT * FROM ${table}`).all();
    d1[table] = results.map((r) => JSON.stringify(r)).sort();
  }
  const r2: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.FILES.list({ cursor });
    r2.push(...page.objects.map((o) => `${o.key} ${o.etag}`));
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return { d1, r2: r2.sort() };
}
