import { withTimeout } from "../lib/timeout";
import type { RelaySnapshot } from "./snapshot";

/** What the fan-out needs of a relay. */
export interface RelayTarget {
  push(snapshot: RelaySnapshot): Promise<void>;
}

const ATTEMPTS = 3;
const RETRY_MS = 100;
/** One push that takes longer is given up (and tried again): a hung relay never holds a change's call for long. */
const PUSH_TIMEOUT_MS = 500;
/** How long a change waits for its pushes before the call that made it returns anyway. */
export const PUSH_WAIT_MS = 2_000;

/**
 * The coordinator's side of the relay layer: every committed cutover state is pushed to each relay
 * at once (a few tries each). A relay that misses a push reads the state itself within
 * RELAY_REFRESH_MS, so a failed push delays a change there, and never loses it.
 */
export class RelayFanout {
  #inFlight = new Set<Promise<void>>();

  constructor(private readonly targets: () => readonly RelayTarget[]) {}

  announce(snapshot: RelaySnapshot): void {
    for (const target of this.targets()) {
      const push = pushWithRetries(target, snapshot).finally(() => this.#inFlight.delete(push));
      this.#inFlight.add(push);
    }
  }

  /** Resolves when the pushes under way have ended, or after `waitMs`. */
  async settled(waitMs = PUSH_WAIT_MS): Promise<void> {
    if (this.#inFlight.size === 0) return;
    // Running out of time is an answer here, not a failure: the relays read the state themselves.
    await withTimeout(Promise.allSettled([...this.#inFlight]), waitMs).catch(() => {});
  }
}

async function pushWithRetries(target: RelayTarget, snapshot: RelaySnapshot): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTimeout(target.push(snapshot), PUSH_TIMEOUT_MS);
    } catch (e) {
      if (attempt >= ATTEMPTS) {
        console.error(`relay push of state v${snapshot.state.version} failed ${ATTEMPTS} times; the relay reads it itself:`, e);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS * 2 ** (attempt - 1)));
    }
  }
}
