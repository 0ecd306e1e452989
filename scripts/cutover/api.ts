import { describeFetchError, endpoint, readAtMost } from "../lib/worker.ts";
import { looksLikeRunView, type RunView } from "./view.ts";

/** The Worker answered 4xx: it refused (exit code 1). */
export class Refusal extends Error {
  readonly status: number;
  readonly field: string | null;

  constructor(status: number, error: string, field: string | null) {
    super(`${error}${field ? ` (field: ${field})` : ""}`);
    this.status = status;
    this.field = field;
  }
}

/** No usable answer: a network error, a timeout, a 5xx, or a body that is not what was asked for (exit code 2). */
export class Unreachable extends Error {}

export type RunAction = "pause" | "resume" | "skip" | "abort";

/** Largest answer read (a run view is a few KiB, a preflight report under a few hundred). */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;

/** The operator endpoints of a cutover run. Nothing is retried here: the watch loop decides. */
export class OperatorApi {
  readonly #base: URL;
  readonly #token: string;
  readonly #timeoutMs: number;
  readonly #signal: AbortSignal | undefined;

  /** `signal` ends a request in flight (Ctrl-C during a watch). */
  constructor(base: URL, token: string, timeoutMs: number, signal?: AbortSignal) {
    this.#base = base;
    this.#token = token;
    this.#timeoutMs = timeoutMs;
    this.#signal = signal;
  }

  preflight(input: { exportSet: string; sample?: number }): Promise<unknown> {
    return this.#call("POST", "/admin/cutover/preflight", input);
  }

  async startRun(plan: unknown): Promise<RunView> {
    return runView(await this.#call("POST", "/admin/cutover/run", plan), "POST /admin/cutover/run");
  }

  async run(): Promise<RunView> {
    return runView(await this.#call("GET", "/admin/cutover/run"), "GET /admin/cutover/run");
  }

  async control(action: RunAction, body: Record<string, unknown>): Promise<RunView> {
    return runView(await this.#call("POST", `/admin/cutover/run/${action}`, body), `POST /admin/cutover/run/${action}`);
  }

  async #call(method: string, path: string, body?: unknown): Promise<unknown> {
    const url = endpoint(this.#base, path);
    const what = `${method} ${url.pathname}`;
    const timeout = AbortSignal.timeout(this.#timeoutMs);
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        redirect: "error",
        signal: this.#signal ? AbortSignal.any([timeout, this.#signal]) : timeout,
        headers: { authorization: `Bearer ${this.#token}`, accept: "application/json", ...(body === undefined ? {} : { "content-type": "application/json" }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const { bytes, complete } = await readAtMost(res, MAX_ANSWER_BYTES);
      if (!complete) throw new Unreachable(`${what}: the answer is larger than ${MAX_ANSWER_BYTES} bytes`);
      text = new TextDecoder().decode(bytes);
    } catch (error) {
      if (error instanceof Unreachable || this.#signal?.aborted) throw error;
      throw new Unreachable(`${what}: ${describeFetchError(error, this.#timeoutMs)}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.status >= 400 && res.status < 500) {
      const { error, field } = (json ?? {}) as { error?: unknown; field?: unknown };
      throw new Refusal(res.status, typeof error === "string" ? error : `HTTP ${res.status} ${text.slice(0, 300)}`, typeof field === "string" ? field : null);
    }
    if (!res.ok) throw new Unreachable(`${what}: HTTP ${res.status} ${text.slice(0, 300)}`);
    if (json === undefined) throw new Unreachable(`${what}: the answer is not JSON: ${text.slice(0, 300)}`);
    return json;
  }
}

function runView(value: unknown, what: string): RunView {
  if (!looksLikeRunView(value)) throw new Unreachable(`${what}: the answer is not a run view: ${JSON.stringify(value).slice(0, 300)}`);
  return value;
}
