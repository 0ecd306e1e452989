import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";

export interface JobSummary {
  id: string;
  kind: string;
  state: string;
  createdAt?: string;
  finishedAt?: string | null;
}

/** The Worker answered with an error status. */
export class HttpError extends Error {
  readonly status: number;

  constructor(message: string, status: number) {
    super(message);
    this.status = status;
  }
}

/**
 * The operator endpoints the applier uses. Every request carries the bearer token and its own
 * timeout (which also bounds reading the body); nothing is retried: a failed run changes nothing
 * and is safe to run again.
 */
export class WorkerApi {
  readonly #base: URL;
  readonly #token: string;
  readonly #timeoutMs: number;

  constructor(base: URL, token: string, timeoutMs: number) {
    this.#base = base;
    this.#token = token;
    this.#timeoutMs = timeoutMs;
  }

  async listJobs(): Promise<JobSummary[]> {
    const body = (await (await this.#request("GET", "/admin/jobs")).json()) as { jobs?: unknown };
    if (!Array.isArray(body.jobs)) throw new Error("GET /admin/jobs: the answer has no jobs list");
    return body.jobs as JobSummary[];
  }

  async manifest(jobId: string): Promise<unknown> {
    return (await this.#request("GET", `/admin/jobs/${encodeURIComponent(jobId)}/bundle`)).json();
  }

  /** A bundle part's CSV text, as a stream. */
  async part(jobId: string, name: string): Promise<Readable> {
    return this.#stream(await this.#request("GET", `/admin/jobs/${encodeURIComponent(jobId)}/bundle/${encodeURIComponent(name)}`));
  }

  /** A file's bytes, as a stream. */
  async file(jobId: string, fileId: string): Promise<Readable> {
    return this.#stream(await this.#request("GET", `/admin/jobs/${encodeURIComponent(jobId)}/files/${encodeURIComponent(fileId)}`));
  }

  async applied(jobId: string, toSeq: number): Promise<void> {
    const res = await this.#request("POST", `/admin/jobs/${encodeURIComponent(jobId)}/applied`, JSON.stringify({ toSeq }));
    await res.arrayBuffer();
  }

  #stream(res: Response): Readable {
    if (!res.body) throw new Error(`${res.url}: empty body`);
    return Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>);
  }

  async #request(method: string, path: string, body?: string): Promise<Response> {
    const url = new URL(this.#base.pathname.replace(/\/+$/, "") + path, this.#base.origin);
    const what = `${method} ${url.pathname}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        body,
        redirect: "error",
        signal: AbortSignal.timeout(this.#timeoutMs),
        headers: { authorization: `Bearer ${this.#token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      });
    } catch (error) {
      throw new Error(`${what}: ${describeFetchError(error, this.#timeoutMs)}`);
    }
    if (!res.ok) {
      const text = await res.text().catch(() => "");
      throw new HttpError(`${what}: HTTP ${res.status}${text ? ` ${text.slice(0, 300)}` : ""}`, res.status);
    }
    return res;
  }
}

export function describeFetchError(error: unknown, timeoutMs: number): string {
  const e = error as Error & { cause?: Error };
  if (e.name === "TimeoutError") return `no complete answer within ${timeoutMs / 1000} s`;
  return e.cause?.message ? `${e.message} (${e.cause.message})` : e.message;
}
