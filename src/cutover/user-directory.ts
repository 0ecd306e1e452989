/** Users remembered per isolate (held, or not held yet); past this, the memory starts over. */
const MAX_REMEMBERED = 100_000;
/** A user not held yet may be imported by the next delta: that answer is kept this long only. */
const NOT_HELD_MS = 30_000;
/** "No unsynced writes" is kept this long only: see wroteAfter. */
const NO_WRITES_MS = 5_000;

/**
 * What the gate asks D1 about users: the id of a username (once per login) and whether the new app
 * holds a user (an imported legacy user). A user once imported stays imported, so that answer is
 * remembered by the isolate; "not held" for NOT_HELD_MS. D1 errors are the caller's to handle.
 */
export class UserDirectory {
  readonly #held = new Set<number>();
  readonly #notHeldUntil = new Map<number, number>();
  readonly #wrote = new Map<string, { wrote: boolean; until: number }>();

  constructor(private readonly db: D1Database) {}

  async idOf(username: string): Promise<number | null> {
    const row = await this.db.prepare(`SELECT id FROM users WHERE username = ?`).bind(username).first<{ id: number }>();
    if (row) this.#remember(row.id, true);
    return row?.id ?? null;
  }

  /** What the isolate already knows: held, not held, or null (ask D1). */
  known(userId: number): boolean | null {
    if (this.#held.has(userId)) return true;
    const until = this.#notHeldUntil.get(userId);
    if (until === undefined) return null;
    if (until > Date.now()) return false;
    this.#notHeldUntil.delete(userId);
    return null;
  }

  async holds(userId: number): Promise<boolean> {
    const known = this.known(userId);
    if (known !== null) return known;
    const held = (await this.db.prepare(`SELECT 1 AS held FROM users WHERE id = ?`).bind(userId).first()) !== null;
    this.#remember(userId, held);
    return held;
  }

  /**
   * Whether `userId` made new-app writes after outbox sequence `afterSeq` (legacy does not have them
   * yet). "Yes" is remembered for NOT_HELD_MS per (user, afterSeq); "no" only for NO_WRITES_MS, since
   * an isolate still on the state before a rollback may let the user write here meanwhile.
   */
  async wroteAfter(userId: number, afterSeq: number): Promise<boolean> {
    const key = `${userId}:${afterSeq}`;
    const known = this.#wrote.get(key);
    if (known && known.until > Date.now()) return known.wrote;
    const wrote = (await this.db.prepare(`SELECT 1 AS wrote FROM outbox WHERE user_id = ? AND seq > ? LIMIT 1`).bind(userId, afterSeq).first()) !== null;
    if (this.#wrote.size >= MAX_REMEMBERED) this.#wrote.clear();
    this.#wrote.set(key, { wrote, until: Date.now() + (wrote ? NOT_HELD_MS : NO_WRITES_MS) });
    return wrote;
  }

  #remember(userId: number, held: boolean): void {
    if (this.#held.size + this.#notHeldUntil.size >= MAX_REMEMBERED) {
      this.#held.clear();
      this.#notHeldUntil.clear();
    }
    if (held) {
      this.#held.add(userId);
      this.#notHeldUntil.delete(userId);
    } else this.#notHeldUntil.set(userId, Date.now() + NOT_HELD_MS);
  }
}
