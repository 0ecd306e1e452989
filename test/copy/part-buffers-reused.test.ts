// Part buffers are lent again while the pool is busy and dropped once it is idle: at most `limit`
// lent at once, a buffer given back while others are lent or awaited is the next borrower's, an idle
// pool keeps none, and a turn taken back from a holder past its lease comes with a new buffer (the
// old holder may still be writing into its own).
import { describe, expect, it } from "vitest";
import { PartBuffers } from "../../src/copy/part-buffers";
import { TurnTimeoutError } from "../../src/lib/concurrency";

describe("part buffers", () => {
  it("lend at most the limit, and lend a buffer given back while busy again", async () => {
    const pool = new PartBuffers(1_024, 2, Infinity);
    const a = await pool.borrow(10);
    const b = await pool.borrow(10);
    expect(a.bytes).not.toBe(b.bytes);
    await expect(pool.borrow(20)).rejects.toBeInstanceOf(TurnTimeoutError);
    const waiting = pool.borrow(1_000);
    a.give();
    a.give(); // a second give does nothing
    const c = await waiting;
    expect(c.bytes).toBe(a.bytes);
    await expect(pool.borrow(20)).rejects.toBeInstanceOf(TurnTimeoutError);
    c.give(); // b is still lent: kept
    const d = await pool.borrow(10);
    expect(d.bytes).toBe(a.bytes);
    d.give();
    b.give(); // nothing lent any more: the pool keeps nothing
    const e = await pool.borrow(10);
    expect([a.bytes, b.bytes]).not.toContain(e.bytes);
  });

  it("give a new buffer with a turn taken back after its lease, and keep none once idle though the old holder never gives", async () => {
    const pool = new PartBuffers(1_024, 1, 30);
    const stale = await pool.borrow(10); // never given back: its request was torn down
    const taker = await pool.borrow(60);
    expect(taker.bytes).not.toBe(stale.bytes);
    await expect(pool.borrow(10)).rejects.toBeInstanceOf(TurnTimeoutError);
    taker.give(); // the taken-back turn no longer counts: the pool is idle and keeps nothing
    const next = await pool.borrow(10);
    expect([stale.bytes, taker.bytes]).not.toContain(next.bytes);
  });
});
