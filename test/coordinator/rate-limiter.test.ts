import { describe, expect, it } from "vitest";
import { RateLimiter } from "../../src/coordinator/dispatcher";

describe("dispatch rate limiter", () => {
  it("grants at most ratePerSecond items a second and holds at most one second's worth", () => {
    const limiter = new RateLimiter();
    expect(limiter.take(10, 100, 0)).toBe(10);
    expect(limiter.take(10, 100, 0)).toBe(0);
    expect(limiter.take(10, 100, 500)).toBe(5);
    expect(limiter.msUntil(4, 10)).toBe(400);
    expect(limiter.take(10, 100, 60_000)).toBe(10); // idle for a minute: still only one second's worth
    limiter.refund(3);
    expect(limiter.take(10, 100, 60_000)).toBe(3);
    let granted = 0;
    for (let t = 60_000; t <= 70_000; t += 50) granted += limiter.take(10, 100, t);
    expect(granted).toBeLessThanOrEqual(10 * 10 + 1);
    expect(granted).toBeGreaterThanOrEqual(10 * 10 - 1);
  });
});
