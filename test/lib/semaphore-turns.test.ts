// The Semaphore behind bounded concurrency and the multipart part-buffer pools: turns handed straight
// to the next waiter, waits that time out, and turns taken back after their lease.
import { describe, expect, it } from "vitest";
import { Semaphore, TurnTimeoutError } from "../../src/lib/concurrency";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Semaphore turns", () => {
  it("never lets more than `limit` run, even when a newcomer asks just as a turn ends", async () => {
    const semaphore = new Semaphore(2);
    let running = 0;
    let most = 0;
    const task = async (ms: number) => {
      running++;
      most = Math.max(most, running);
      await sleep(ms);
      running--;
    };
    const first = await semaphore.acquire();
    const second = await semaphore.acquire();
    const waiting = semaphore.run(() => task(5));
    // The turn ended here goes to the waiter: this newcomer must wait too.
    first();
    let late = false;
    const newcomer = semaphore.acquire().then((release) => {
      late = true;
      return release;
    });
    await sleep(1);
    expect(late).toBe(false);
    second();
    await waiting;
    (await newcomer)();
    await Promise.all(Array.from({ length: 20 }, (_, i) => semaphore.run(() => task(i % 3))));
    expect(most).toBeLessThanOrEqual(2);
  });

  it("gives up waiting after the timeout, and leaves the queue", async () => {
    const semaphore = new Semaphore(1);
    const held = await semaphore.acquire();
    await expect(semaphore.acquire(20)).rejects.toBeInstanceOf(TurnTimeoutError);
    held();
    // The timed-out waiter is gone: the next one gets the turn at once.
    const release = await semaphore.acquire(20);
    release();
  });

  it("takes back a turn held past its lease, once a waiter's own wait runs out", async () => {
    const semaphore = new Semaphore(1, 30);
    const forgotten = await semaphore.acquire();
    await sleep(40);
    const taken = await semaphore.acquire(10);
    // The old holder ending its turn late changes nothing: the new holder keeps it.
    forgotten();
    await expect(semaphore.acquire(10)).rejects.toBeInstanceOf(TurnTimeoutError);
    taken();
    (await semaphore.acquire(10))();
  });
});
