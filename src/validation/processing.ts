import { z } from "zod";
import { issueToken } from "../app/auth/tokens";
import type { Env } from "../env";
import { answer, describeAnswer, type AppClient } from "./app-client";
import type { Canary } from "./authentication";
import { errorText, runCheck, type CheckOutcome } from "./check";
import type { CheckResult } from "./report";

/**
 * The known CSV: a quoted comma, escaped quotes, a cell spanning two lines, formula cells (= and
 * @), a negative number (not a formula) and a non-numeric amount that an order filter rejects.
 */
export const KNOWN_CSV =
  "id,name,amount,note\n" +
  '1,"Smith, Jane",250,=SUM(A1:A2)\n' +
  "2,Bob,50,plain\n" +
  '3,"Lee ""Ace""",1000,@cmd\n' +
  "4,Ann,n/a,big\n" +
  "5,Zoë,100,-5\n" +
  '6,"two\nlines",300,"x, y"\n';

/** The cut: three columns in a new order, rows with amount >= 100. */
export const KNOWN_CUT = { columns: ["name", "note", "amount"], filters: { amount: ">= 100" } };

/**
 * The known answer, written by hand (test/validation/known-cut.test.ts derives it independently):
 * CRLF line ends, RFC 4180 quoting, formula cells prefixed with '.
 */
export const KNOWN_RESULT =
  "name,note,amount\r\n" +
  '"Smith, Jane",\'=SUM(A1:A2),250\r\n' +
  '"Lee ""Ace""",\'@cmd,1000\r\n' +
  "Zoë,-5,100\r\n" +
  '"two\nlines","x, y",300\r\n';

const uploaded = z.object({ columns: z.array(z.string()), file_path: z.string().min(1) });

/**
 * processing: as the canary user, the known CSV goes through csv_cutter/ and export_csv/ and must
 * come back as the known result, byte for byte. The upload is removed afterwards (the account stays).
 */
export async function processingChecks(env: Env, client: AppClient, canary: Canary | null): Promise<CheckResult[]> {
  return [
    await runCheck("processing", "cut-and-export", async () => {
      if (!canary) return { ok: false, detail: "not run: there is no canary account to run it as (see authentication/canary-account)" };
      const outcome = await cutAndExport(env, client, canary).catch((e: unknown): CheckOutcome => ({ ok: false, detail: `the check stopped with an error: ${errorText(e)}` }));
      try {
        await removeUploads(env, canary.id);
      } catch (e) {
        return { ...outcome, ok: false, detail: `${outcome.detail}; the canary's upload could not be removed: ${errorText(e)}` };
      }
      return outcome;
    }),
  ];
}

async function cutAndExport(env: Env, client: AppClient, canary: Canary): Promise<CheckOutcome> {
  // A token of its own: the canary's from login may have lapsed while the files were checked.
  const token = await issueToken(env, canary.id, "access");
  const form = new FormData();
  form.append("file", new Blob([KNOWN_CSV], { type: "text/csv" }), "lc-validate.csv");
  const cut = await answer(await client.fetch("/api/list_cutter/csv_cutter/", { method: "POST", body: form, token }));
  const stored = uploaded.safeParse(cut.body);
  if (cut.status !== 200 || !stored.success) return { ok: false, detail: `csv_cutter/ answered ${describeAnswer(cut)}` };
  const failures: string[] = [];
  const header = KNOWN_CSV.slice(0, KNOWN_CSV.indexOf("\n")).split(",");
  if (JSON.stringify(stored.data.columns) !== JSON.stringify(header)) failures.push(`csv_cutter/ found the columns ${JSON.stringify(stored.data.columns)}, not ${JSON.stringify(header)}`);

  const res = await client.fetch("/api/list_cutter/export_csv/", { method: "POST", token, body: JSON.stringify({ file_path: stored.data.file_path, ...KNOWN_CUT }), headers: { "content-type": "application/json" } });
  if (res.status !== 200) return { ok: false, detail: `export_csv/ answered ${describeAnswer(await answer(res))}`, failures };
  const got = new Uint8Array(await res.arrayBuffer());
  const difference = firstDifference(got, new TextEncoder().encode(KNOWN_RESULT));
  if (difference !== null) failures.push(`export_csv/ gave ${got.byteLength} bytes that differ from the known result at byte ${difference}: ${JSON.stringify(new TextDecoder().decode(got.subarray(Math.max(0, difference - 20), difference + 20)))}`);
  return { detail: `csv_cutter/ then export_csv/ (columns ${KNOWN_CUT.columns.join(", ")}; amount ${KNOWN_CUT.filters.amount}) as ${canary.username}: ${difference === null ? "the known result, byte for byte" : "not the known result"}`, failures };
}

/** Index of the first byte where `a` and `b` differ, or null if they are equal. */
function firstDifference(a: Uint8Array, b: Uint8Array): number | null {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? null : n;
}

/** The canary's csv_cutter uploads (no app route deletes them; the hourly sweep would, after a day). */
async function removeUploads(env: Env, userId: number): Promise<void> {
  const rows = await env.DB.prepare(`SELECT r2_key FROM scratch_files WHERE user_id = ?`).bind(userId).all<{ r2_key: string }>();
  if (rows.results.length === 0) return;
  await env.FILES.delete(rows.results.map((r) => r.r2_key));
  await env.DB.prepare(`DELETE FROM scratch_files WHERE user_id = ?`).bind(userId).run();
}
