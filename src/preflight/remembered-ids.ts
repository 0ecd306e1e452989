/**
 * The ids a preflight must remember across the export (users it would import or keep out, file_ids
 * it would turn into items), all drawn from one budget so that its memory has a stated ceiling:
 * about 21 bytes a user id and 55 a file id, so at most some 55 MB at the default cap.
 */
export const MAX_REMEMBERED_IDS = 1_000_000;

export class IdBudget {
  #used = 0;

  constructor(readonly limit = MAX_REMEMBERED_IDS) {}

  /** Whether `n` more ids still fit. */
  fits(n: number): boolean {
    return this.#used + n <= this.limit;
  }

  take(): void {
    if (!this.fits(1)) throw new Error(`id budget of ${this.limit} exceeded`);
    this.#used++;
  }
}

/** A set of ids, each charged to the budget when first added. */
export class RememberedIds<T extends string | number> {
  readonly #ids = new Set<string | number>();

  constructor(
    private readonly budget: IdBudget,
    private readonly key: (id: T) => string | number = (id) => id,
  ) {}

  has(id: T): boolean {
    return this.#ids.has(this.key(id));
  }

  add(id: T): void {
    const key = this.key(id);
    if (this.#ids.has(key)) return;
    this.budget.take();
    this.#ids.add(key);
  }
}

/**
 * A (validated, lower-case) UUID as 8 UTF-16 code units of 16 bits each: the same identity as its
 * 36-character text, in about two thirds of the memory.
 */
export function uuidKey(uuid: string): string {
  const hex = uuid.replaceAll("-", "");
  const units: number[] = [];
  for (let i = 0; i < 32; i += 4) units.push(parseInt(hex.slice(i, i + 4), 16));
  return String.fromCharCode(...units);
}
