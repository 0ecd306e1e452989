import type { Env } from "../env";
import { legacyFileUrl } from "../copy/copy-file";
import { Semaphore } from "../lib/concurrency";
import type { SamplePick } from "./scan-state";

export const HEAD_TIMEOUT_MS = 5_000;
export const HEAD_CONCURRENCY = 6;

export type SampleOutcome = "ok" | "missing" | "size_mismatch" | "too_large" | "error";

export interface SampleItem {
  fileId: string;
  line: number;
  path: string;
  /** HTTP status, or null when no answer came (network error, timeout). */
  status: number | null;
  /** Content-Length of the answer, if it gave one. */
  size: number | null;
  /** The size the row declares (metadata.size), if any. */
  declared: number | null;
  outcome: SampleOutcome;
  error?: string;
}

export interface SampleReport {
  checked: number;
  ok: number;
  /** 404 or 410: the copy fails with not_found. */
  missing: number;
  /** Content-Length differs from the size the row declares: the copy fails with length_mismatch. */
  sizeMismatch: number;
  /** Content-Length above MAX_FILE_SIZE: the copy fails with too_large. */
  tooLarge: number;
  /** Any other status (redirects included, which the copy does not follow), network errors, timeouts. */
  errors: number;
  items: SampleItem[];
}

/**
 * Asks the legacy origin for the HEAD of each sampled file (at the URL the copy consumer would fetch:
 * legacyFileUrl), HEAD_CONCURRENCY at a time, each within HEAD_TIMEOUT_MS. Nothing is downloaded.
 */
export async function headSample(env: Env, picks: readonly SamplePick[], maxFileSize: number): Promise<SampleReport> {
  const gate = new Semaphore(HEAD_CONCURRENCY);
  const ordered = [...picks].sort((a, b) => a.line - b.line);
  const items = await Promise.all(ordered.map((pick) => gate.run(() => headOne(env, pick, maxFileSize))));
  const report: SampleReport = { checked: items.length, ok: 0, missing: 0, sizeMismatch: 0, tooLarge: 0, errors: 0, items };
  for (const item of items) {
    if (item.outcome === "ok") report.ok++;
    else if (item.outcome === "missing") report.missing++;
    else if (item.outcome === "size_mismatch") report.sizeMismatch++;
    else if (item.outcome === "too_large") report.tooLarge++;
    else report.errors++;
  }
  return report;
}

async function headOne(env: Env, pick: SamplePick, maxFileSize: number): Promise<SampleItem> {
  const base = { fileId: pick.fileId, line: pick.line, path: pick.path };
  const signal = AbortSignal.timeout(HEAD_TIMEOUT_MS);
  let response: Response;
  try {
    const source = legacyFileUrl(env, pick.path);
    if (!source.ok) return { ...base, status: null, size: null, declared: pick.declared, outcome: "error", error: source.detail };
    response = await fetch(source.url, { method: "HEAD", redirect: "manual", signal });
  } catch (e) {
    const error = signal.aborted ? `no answer within ${HEAD_TIMEOUT_MS} ms` : e instanceof Error ? e.message : String(e);
    return { ...base, status: null, size: null, declared: pick.declared, outcome: "error", error };
  }
  await response.body?.cancel().catch(() => {});
  const { status } = response;
  const header = response.headers.get("content-length")?.trim() ?? "";
  const size = /^\d+$/.test(header) ? Number(header) : null;
  const answer = { ...base, status, size, declared: pick.declared };
  if (status === 404 || status === 410) return { ...answer, outcome: "missing" };
  if (status !== 200) return { ...answer, outcome: "error", error: `HTTP ${status}` };
  if (size !== null && size > maxFileSize) return { ...answer, outcome: "too_large" };
  if (size !== null && pick.declared !== null && size !== pick.declared) return { ...answer, outcome: "size_mismatch" };
  return { ...answer, outcome: "ok" };
}
