import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isNumberLiteral, MAX_NUMBER_LENGTH, parseNumber } from "../../src/lib/numbers";

// The regular expressions the scanner replaces: right, but quadratic on long near-numbers.
const LITERAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const PADDED = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

const numberish = fc.string({ unit: fc.constantFrom(..."0123456789+-.eE x\t\n\u00a0\u2003\ufeff"), maxLength: 30 });

function elapsed(run: () => void): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

describe("the number scanner", () => {
  it("accepts exactly what the regular expressions accepted, with the same value", () => {
    fc.assert(
      fc.property(numberish, (text) => {
        expect(isNumberLiteral(text)).toBe(LITERAL.test(text));
        expect(parseNumber(text)).toBe(PADDED.test(text) ? Number(text) : null);
      }),
      { numRuns: 5_000 },
    );
  });

  it("reads back every finite double JavaScript prints", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        expect(parseNumber(String(n))).toBe(Object.is(n, -0) ? 0 : n); // String(-0) is "0"
        expect(isNumberLiteral(String(n))).toBe(true);
      }),
    );
  });

  it("treats text longer than MAX_NUMBER_LENGTH as text", () => {
    expect(parseNumber("1".repeat(MAX_NUMBER_LENGTH))).toBe(Number("1".repeat(MAX_NUMBER_LENGTH)));
    expect(parseNumber("1".repeat(MAX_NUMBER_LENGTH + 1))).toBeNull();
    expect(parseNumber(` ${"1".repeat(MAX_NUMBER_LENGTH)} `)).not.toBeNull();
  });

  it("classifies long near-numbers in linear time", () => {
    for (const cell of ["1".repeat(200_000) + "x", "-" + "1".repeat(1_000_000) + "x", "1" + " ".repeat(1_000_000) + "x", "1." + "1".repeat(390) + "ex"]) {
      expect(elapsed(() => expect(parseNumber(cell)).toBeNull())).toBeLessThan(50);
      expect(elapsed(() => expect(isNumberLiteral(cell)).toBe(false))).toBeLessThan(50);
    }
  });
});
