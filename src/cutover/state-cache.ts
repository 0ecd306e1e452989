import { INITIAL_CUTOVER, type CutoverState } from "./state";

export interface CachedState {
  state: CutoverState;
  /** True when the last refresh failed and this is the last state that could be read. */
  stale: boolean;
  /** When the state was last read successfully (ms), or null if it never was. */
  readAt: number | null;
}

/**
 * One isolate's copy of the cutover state. It reads the coordinator at most once per TTL (one
 * refresh in flight at a time, shared by every request waiting on it), and when a read fails or
 * times out it keeps serving the last state it knew. Before the first successful read it serves
 * the initial state: everything on legacy.
 */
export class CutoverStateCache {
  #state: CutoverState | null = null;
  #readAt: number | null = null;
  #checkedAt = -Infinity;
  #stale = false;
  #refreshing: Promise<void> | null = null;

  constructor(
    private readonly load: () => Promise<CutoverState>,
    private readonly ttlMs: number,
    private readonly timeoutMs = 1_000,
    private readonly clock: () => number = Date.now,
  ) {}

  async get(): Promise<CachedState> {
    if (this.clock() - this.#checkedAt >= this.ttlMs) {
      this.#refreshing ??= this.#refresh().finally(() => (this.#refreshing = null));
      await this.#refreshing;
    }
    return { state: this.#state ?? INITIAL_CUTOVER, stale: this.#stale, readAt: this.#readAt };
  }

  async #refresh(): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("coordinator read timed out")), this.timeoutMs)));
      this.#state = await Promise.race([this.load(), timeout]);
      this.#readAt = this.clock();
      this.#stale = false;
    } catch (e) {
      console.error("cutover state read failed; keeping the last known state:", e);
      this.#stale = true;
    } finally {
      clearTimeout(timer);
      this.#checkedAt = this.clock();
    }
  }
}
