/** A wait for a turn that ran out (Semaphore.acquire's timeout). */
export class TurnTimeoutError extends Error {
  constructor(readonly waitedMs: number) {
    super(`no turn free after ${waitedMs} ms`);
  }
}

interface Turn {
  since: number;
}

/**
 * Lets at most `limit` tasks run at once; the rest wait their turn in order. A turn ended is handed
 * straight to the next waiter, so no newcomer slips in between. With `leaseMs`, a turn held longer
 * than that may be taken back by a waiter whose own wait ran out: a holder whose request was torn
 * down never ends its turn (its `finally` never runs), and must not block the others for good.
 */
export class Semaphore {
  readonly #turns = new Set<Turn>();
  readonly #waiting: ((turn: Turn) => void)[] = [];

  constructor(
    private readonly limit: number,
    private readonly leaseMs = Infinity,
  ) {}

  /** Whether any turn is held or awaited now (a turn taken back after its lease no longer counts). */
  get busy(): boolean {
    return this.#turns.size > 0 || this.#waiting.length > 0;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await task();
    } finally {
      release();
    }
  }

  /**
   * Waits for a turn, at most `timeoutMs` (then rejects with TurnTimeoutError, unless a turn older
   * than the lease can be taken back); the returned function ends it (calling it again does nothing).
   */
  async acquire(timeoutMs = Infinity): Promise<() => void> {
    if (this.#turns.size < this.limit) return this.#releaser(this.#take());
    const turn = await new Promise<Turn>((resolve, reject) => {
      const waiter = (granted: Turn) => {
        clearTimeout(timer);
        resolve(granted);
      };
      const timer = Number.isFinite(timeoutMs)
        ? setTimeout(() => {
            this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
            const now = Date.now();
            const stale = [...this.#turns].find((t) => now - t.since >= this.leaseMs);
            if (!stale) return reject(new TurnTimeoutError(timeoutMs));
            this.#turns.delete(stale);
            resolve(this.#take());
          }, timeoutMs)
        : undefined;
      this.#waiting.push(waiter);
    });
    return this.#releaser(turn);
  }

  #take(): Turn {
    const turn = { since: Date.now() };
    this.#turns.add(turn);
    return turn;
  }

  #releaser(turn: Turn): () => void {
    return () => {
      // Ended already, or taken back after its lease.
      if (!this.#turns.delete(turn)) return;
      this.#waiting.shift()?.(this.#take());
    };
  }
}
