import { MAX_LISTED_FAILURES, type CheckGroup, type CheckResult } from "./report";

/** What a check found: it passes when `failures` is empty, unless it says `ok: false` itself. */
export interface CheckOutcome {
  ok?: boolean;
  detail: string;
  failures?: readonly string[] | Failures;
}

/** Failures counted in full but kept only as far as a report lists them: a walk may find thousands. */
export class Failures {
  readonly listed: string[] = [];
  total = 0;

  add(failure: string): void {
    this.total++;
    if (this.listed.length < MAX_LISTED_FAILURES) this.listed.push(failure);
  }
}

/** Bounds on what a report carries, so that it can be stored and audited whatever went wrong. */
const MAX_DETAIL_CHARS = 2_000;
const MAX_FAILURE_CHARS = 500;

/** Runs one check and times it; a check that throws fails with the error's text, the suite goes on. */
export async function runCheck(group: CheckGroup, name: string, check: () => Promise<CheckOutcome>): Promise<CheckResult> {
  const started = Date.now();
  let outcome: CheckOutcome;
  try {
    outcome = await check();
  } catch (e) {
    outcome = { ok: false, detail: `the check stopped with an error: ${errorText(e)}` };
  }
  const found = outcome.failures ?? [];
  const { listed, total } = found instanceof Failures ? found : { listed: found, total: found.length };
  const ok = outcome.ok !== false && total === 0;
  let detail = outcome.detail;
  if (total > MAX_LISTED_FAILURES) detail += ` (${total} failures, the first ${MAX_LISTED_FAILURES} listed)`;
  const result: CheckResult = { group, name, ok, ms: Date.now() - started, detail: clip(detail, MAX_DETAIL_CHARS) };
  if (total > 0) result.failures = listed.slice(0, MAX_LISTED_FAILURES).map((f) => clip(f, MAX_FAILURE_CHARS));
  return result;
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** "1 file", "3 files". */
export function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}
