import { app } from "../app";
import type { Env } from "../env";

/** Requests go to the new app's handler itself: this host is never resolved. */
const BASE = "https://validation.invalid";

export interface AppAnswer {
  status: number;
  body: unknown;
}

/**
 * The new app called in-process, as the gate would hand it a request but without the gate (the
 * suite runs in maintenance, before the switch to 100 %), and without a request or an
 * ExecutionContext of its own (the coordinator's alarm runs it too): `waitUntil` work is collected
 * and awaited by `settle`.
 */
export class AppClient {
  readonly #pending: Promise<unknown>[] = [];
  readonly #ctx: ExecutionContext;

  constructor(private readonly env: Env) {
    // Only what the app may call: it has no use for props, exports or tracing.
    this.#ctx = { waitUntil: (promise: Promise<unknown>) => void this.#pending.push(promise), passThroughOnException: () => {} } as unknown as ExecutionContext;
  }

  fetch(path: string, init: RequestInit & { token?: string } = {}): Promise<Response> {
    const { token, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (token) headers.set("authorization", `Bearer ${token}`);
    return app(new Request(new URL(path, BASE), { ...rest, headers }), this.env, this.#ctx);
  }

  /** A JSON request (POST unless `method` says otherwise) and its answer, parsed if it is JSON. */
  async json(path: string, body: unknown, options: { token?: string; method?: string } = {}): Promise<AppAnswer> {
    return answer(await this.fetch(path, { method: options.method ?? "POST", token: options.token, body: JSON.stringify(body), headers: { "content-type": "application/json" } }));
  }

  async get(path: string, token?: string): Promise<AppAnswer> {
    return answer(await this.fetch(path, { token }));
  }

  /** Waits for the background work the app handed to waitUntil. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.#pending.splice(0));
  }
}

export async function answer(res: Response): Promise<AppAnswer> {
  const text = await res.text();
  try {
    return { status: res.status, body: text === "" ? null : JSON.parse(text) };
  } catch {
    return { status: res.status, body: text };
  }
}

/** "HTTP 401 {"detail":"…"}": how a failure names an unexpected answer. */
export function describeAnswer(a: AppAnswer): string {
  const body = typeof a.body === "string" ? a.body : JSON.stringify(a.body);
  return `HTTP ${a.status}${body ? ` ${body.slice(0, 200)}` : ""}`;
}
