import { Semaphore } from "../lib/concurrency";

/** A part buffer lent to one multipart upload; give() returns it (calling it again does nothing). */
export interface LentBuffer {
  bytes: Uint8Array;
  give(): void;
}

/**
 * At most `limit` part buffers of `size` bytes lent at once. While the pool is busy (another buffer
 * lent, or a borrower waiting) a buffer given back is kept for the next borrower, so that a run of
 * uploads allocates its part buffers once, not once per upload (each 8 MiB buffer left to the
 * collector stays counted against the isolate until it is swept); once nothing is lent, the pool
 * keeps none, so an idle isolate holds no part buffer. A turn taken back after the semaphore's lease
 * (its holder's request torn down without giving it back) comes with a new buffer, since the old
 * holder may still hold the old one.
 */
export class PartBuffers {
  readonly #turns: Semaphore;
  #kept: Uint8Array[] = [];

  constructor(
    private readonly size: number,
    private readonly limit: number,
    leaseMs: number,
  ) {
    this.#turns = new Semaphore(limit, leaseMs);
  }

  /** Waits for a buffer at most `timeoutMs` (then TurnTimeoutError). */
  async borrow(timeoutMs: number): Promise<LentBuffer> {
    const release = await this.#turns.acquire(timeoutMs);
    const bytes = this.#kept.pop() ?? new Uint8Array(this.size);
    let lent = true;
    return {
      bytes,
      give: () => {
        if (!lent) return;
        lent = false;
        // Released first: a waiter is handed the turn at once, and takes this buffer when it resumes.
        release();
        if (!this.#turns.busy) this.#kept = [];
        else if (this.#kept.length < this.limit) this.#kept.push(bytes);
      },
    };
  }
}
