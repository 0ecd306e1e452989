import { mulberry32 } from "../lib/mulberry32";

/**
 * A uniform random sample of at most `size` items from a stream of unknown length, in one pass
 * (reservoir sampling, Algorithm R): every item offered has the same chance to be kept, so the sample
 * spreads over the whole export, not its first rows. The generator is seeded, so the same export
 * gives the same sample (a preflight run twice checks the same files).
 */
export class Reservoir<T> {
  readonly #items: T[] = [];
  #offered = 0;
  readonly #random: () => number;

  constructor(
    readonly size: number,
    seed = 0x5eed,
  ) {
    this.#random = mulberry32(seed);
  }

  offer(item: T): void {
    this.#offered++;
    if (this.#items.length < this.size) this.#items.push(item);
    else {
      const slot = Math.floor(this.#random() * this.#offered);
      if (slot < this.size) this.#items[slot] = item;
    }
  }

  get items(): readonly T[] {
    return this.#items;
  }
}
