import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { describeFetchError, endpoint, readAtMost } from "../lib/worker.ts";

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

/** Largest manifest accepted (the Worker's is a few KiB). */
export const MANIFEST_MAX_BYTES = 1024 * 1024;
/** Largest job list accepted. */
const JOB_LIST_MAX_BYTES = 16 * 1024 * 1024;
/** How much of an error answer is read (and shown). */
const ERROR_TEXT_BYTES = 4096;

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
    const body = (await this.#json(await this.#request("GET", "/admin/jobs"), JOB_LIST_MAX_BYTES, "the job list")) as { jobs?: unknown };
    if (!Array.isArray(body.jobs)) throw new Error("GET /admin/jobs: the answer has no jobs list");
    return body.jobs as JobSummary[];
  }

  async manifest(jobId: string): Promise<unknown> {
    return this.#json(await this.#request("GET", `/admin/jobs/${encodeURIComponent(jobId)}/bundle`), MANIFEST_MAX_BYTES, "the manifest");
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
    await readAtMost(res, ERROR_TEXT_BYTES);
  }

  /** A JSON body of at most `maxBytes`, counted while it arrives. */
  async #json(res: Response, maxBytes: number, what: string): Promise<unknown> {
    const { bytes, complete } = await readAtMost(res, maxBytes);
    if (!complete) throw new Error(`${what} is larger than ${maxBytes} bytes: refusing it`);
    try {
      return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch (error) {
      throw new Error(`${what} is not UTF-8 JSON: ${(error as Error).message}`);
    }
  }

  #stream(res: Response): Readable {
    if (!res.body) throw new Error(`${res.url}: empty body`);
    return Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>);
  }

  async #request(method: string, path: string, body?: string): Promise<Response> {
    const url = endpoint(this.#base, path);
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
      const text = await readAtMost(res, ERROR_TEXT_BYTES).then(({ bytes }) => new TextDecoder().decode(bytes), () => "");
      throw new HttpError(`${what}: HTTP ${res.status}${text ? ` ${text.slice(0, 300)}` : ""}`, res.status);
    }
    return res;
  }
}
