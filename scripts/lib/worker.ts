// What every operator script needs to talk to the Worker: its URL checked, bounded answers, and
// fetch errors said plainly.

import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/** A command line this script cannot use (exit code 2). */
export class UsageError extends Error {}

/** The command line parsed strictly against `options`; anything it cannot read is a UsageError. */
export function parseFlags<const O extends ParseArgsOptionsConfig>(argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, strict: true, allowPositionals, options });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * The Worker's base URL. The admin token travels with every request: no plain HTTP beyond this
 * machine.
 */
export function workerUrl(text: string, flag = "--worker"): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`${flag} must be a URL, not ${JSON.stringify(text)}`);
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && LOOPBACK.has(url.hostname))) {
    throw new UsageError(`${flag} must be an https:// URL (http:// only for localhost, 127.0.0.1 or ::1)`);
  }
  return url;
}

/** `path` under the Worker's base URL (which may itself have a path). */
export function endpoint(base: URL, path: string): URL {
  return new URL(base.pathname.replace(/\/+$/, "") + path, base.origin);
}

/** Reads a body up to `maxBytes`; `complete` is false (and the rest is not read) when it is longer. */
export async function readAtMost(res: Response, maxBytes: number): Promise<{ bytes: Uint8Array; complete: boolean }> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        chunks.push(value.subarray(0, value.length - (total - maxBytes)));
        return { bytes: Buffer.concat(chunks), complete: false };
      }
      chunks.push(value);
    }
  }
  return { bytes: Buffer.concat(chunks), complete: true };
}

export function describeFetchError(error: unknown, timeoutMs: number): string {
  const e = error as Error & { cause?: Error };
  if (e.name === "TimeoutError") return `no complete answer within ${timeoutMs / 1000} s`;
  return e.cause?.message ? `${e.message} (${e.cause.message})` : e.message;
}

/** A CLI's options, or its exit: a usage error prints the message and the usage (exit 2), --help the usage (exit 0). */
export function optionsOrExit<T>(read: () => T | "help", usage: string): T {
  let options: T | "help";
  try {
    options = read();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`✖ ${error.message}\n\n${usage}`);
    process.exit(2);
  }
  if (options === "help") {
    console.log(usage);
    process.exit(0);
  }
  return options;
}
