import { describe, expect, it } from "vitest";
import { backoffMs } from "../../src/coordinator/ledger";

describe("retry backoff", () => {
  it("doubles per attempt with jitter in [ceiling/2, ceiling], capped at retryMaxMs", () => {
    const settings = { retryBaseMs: 1_000, retryMaxMs: 10_000 };
    for (let attempt = 1; attempt <= 8; attempt++) {
      const ceiling = Math.min(10_000, 1_000 * 2 ** (attempt - 1));
      const samples = Array.from({ length: 200 }, () => backoffMs(attempt, settings));
      expect(Math.min(...samples)).toBeGreaterThanOrEqual(ceiling / 2);
      expect(Math.max(...samples)).toBeLessThanOrEqual(ceiling);
      expect(new Set(samples).size).toBeGreaterThan(1);
    }
  });
});
