import { describe, expect, it } from "vitest";
import { csvCell, neutraliseFormula } from "../../src/app/csv-output";

function elapsed(run: () => void): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

describe("formula neutralising", () => {
  it("still leaves plain numbers alone and prefixes formulas", () => {
    expect(["-5", "+3.2", "-.5", "+1e3", "-1.", "=1", "+cmd", "-5 ", "@x", "\t1", "abc"].map(neutraliseFormula)).toEqual(["-5", "+3.2", "-.5", "+1e3", "-1.", "'=1", "'+cmd", "'-5 ", "'@x", "'\t1", "abc"]);
  });

  it.each([30_000, 1_000_000])("takes linear time on a %i-digit near-number cell", (digits) => {
    const cell = "-" + "1".repeat(digits) + "x";
    let out = "";
    expect(elapsed(() => (out = csvCell(cell)))).toBeLessThan(50);
    expect(out).toBe(`'${cell}`);
  });
});
