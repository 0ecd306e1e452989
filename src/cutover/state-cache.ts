import type { Env } from "../env";
import { withTimeout } from "../lib/timeout";
import type { CutoverState } from "./state";

export interface CachedState {
  /** The state in force, or null if this isolate has never read it (the gate then fails closed). */
  state: CutoverState | null;
  /** True when the last read failed: this is the last state that could be read. */
  stale: boolean;
  /** When the state was last read successfully (ms), or null if it never was. */
  readAt: number | null;
}

type WaitUntil = Pick<ExecutionContext, "waitUntil">;

/** How often a request waiting for another request's read looks for its outcome. */
const POLL_MS = 5;

/**
 * One isolate's copy of the cutover state. A request is never answered from a state older than
 * the TTL while the coordinator can be read, and no request ever waits on I/O another request
 * started (workerd forbids it: the waiter fails with "Cannot perform I/O on behalf of a different
 * request"). So:
 * - from half the TTL on, the request that notices starts a refresh in its own background
 *   (`ctx.waitUntil`) and is answered from the state held; under steady traffic the state is kept
 *   fresh this way, at about two coordinator reads per TTL per isolate;
 * - past the TTL (sparse traffic, or a slow read), a request reads the coordinator itself, unless
 *   a read is already running: then it waits for that read's outcome on its own timer (it polls the
 *   value, never touching the other request's I/O), so a burst of requests still makes one read;
 * - before the first successful read the same holds, and a failed read leaves the state null until
 *   the next attempt, so a cold isolate that cannot reach the coordinator answers "maintenance"
 *   rather than guessing;
 * - a failed read keeps the last known state (stale) and is not retried before half a TTL.
 */
export class CutoverStateCache {
  #state: CutoverState | null = null;
  #readAt: number | null = null;
  /** When the last read (successful or not) finished. */
  #checkedAt = -Infinity;
  #failed = false;
  /** When the running background refresh started; null if none runs. */
  #refreshingSince: number | null = null;

  constructor(
    private readonly load: () => Promise<CutoverState>,
    private readonly ttlMs: number,
    private readonly timeoutMs = 1_000,
    private readonly clock: () => number = Date.now,
  ) {}

  async get(ctx?: WaitUntil): Promise<CachedState> {
    const now = this.clock();
    const age = now - this.#checkedAt;
    if (this.#state === null || age >= this.ttlMs) {
      if (!(this.#failed && age < this.ttlMs / 2)) await this.#readOrAwaitRunning(now);
    } else if (ctx && age >= this.ttlMs / 2 && !this.#refreshRunning(now)) {
      ctx.waitUntil(this.#tracked(now));
    }
    return this.peek();
  }

  /** What this isolate holds now, with no I/O. */
  peek(): CachedState {
    return { state: this.#state, stale: this.#failed, readAt: this.#readAt };
  }

  async #readOrAwaitRunning(now: number): Promise<void> {
    if (!this.#refreshRunning(now)) return this.#tracked(now);
    const before = this.#checkedAt;
    for (let waited = 0; this.#checkedAt === before && this.#refreshRunning(this.clock()) && waited <= 2 * this.timeoutMs; waited += POLL_MS) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  async #tracked(now: number): Promise<void> {
    this.#refreshingSince = now;
    try {
      await this.#refresh();
    } finally {
      this.#refreshingSince = null;
    }
  }

  /** A refresh whose request was torn down may never settle: after twice the timeout it no longer counts. */
  #refreshRunning(now: number): boolean {
    return this.#refreshingSince !== null && now - this.#refreshingSince <= 2 * this.timeoutMs;
  }

  async #refresh(): Promise<void> {
    try {
      const state = await withTimeout(this.load(), this.timeoutMs, "coordinator read timed out");
      // Reads may finish out of order: never go back to an older version.
      if (this.#state === null || state.version >= this.#state.version) this.#state = state;
      this.#readAt = this.clock();
      this.#failed = false;
    } catch (e) {
      console.error("cutover state read failed; keeping the last known state:", e);
      this.#failed = true;
    } finally {
      this.#checkedAt = this.clock();
    }
  }
}

const DEFAULT_TTL_MS = 2_000;

/** CUTOVER_CACHE_TTL_MS, or its default. */
export function cacheTtlMs(env: Env): number {
  const ttl = Number(env.CUTOVER_CACHE_TTL_MS);
  return Number.isFinite(ttl) && ttl >= 0 ? ttl : DEFAULT_TTL_MS;
}
