import { describe, expect, it } from "vitest";
import { FilterSyntaxError, MAX_CLAUSE_LENGTH, parseClause, type Predicate } from "../../src/app/filter-clauses";

function elapsed(run: () => void): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

/** Clauses just under the length cap, shaped to make a backtracking parser explode. */
const pad = (prefix: string, fill: string, suffix: string) => prefix + fill.repeat(Math.floor((MAX_CLAUSE_LENGTH - prefix.length - suffix.length) / fill.length)) + suffix;

describe("filter clauses are parsed in linear time", () => {
  it.each([
    ["BETWEEN + spaces + x", pad("BETWEEN", " ", "x")],
    ["BETWEEN + tabs + 1", pad("BETWEEN", "\t", "1")],
    ["BETWEEN 1 + spaces + x", pad("BETWEEN 1", " ", "x")],
    ["BETWEEN 1 + ' and' repeated", pad("BETWEEN 1", " and", "x")],
    ["IN with many items", pad("IN (", "'a', ", "x)")],
    ["comparison with spaces", pad(">", " ", "x")],
    ["quoted value", pad("= '", "x", "")],
  ])("%s", (_name, clause) => {
    expect(clause.length).toBeLessThanOrEqual(MAX_CLAUSE_LENGTH);
    const outcomes: (Predicate | null | unknown)[] = [];
    const ms = elapsed(() => {
      try {
        outcomes.push(parseClause(clause));
      } catch (e) {
        outcomes.push(e);
      }
    });
    expect(ms).toBeLessThan(20);
    const [outcome] = outcomes;
    expect(outcome === null || typeof outcome === "function" || outcome instanceof FilterSyntaxError).toBe(true);
  });

  it("refuses a clause longer than the cap at once", () => {
    for (const clause of ["BETWEEN 1" + " ".repeat(50_000) + "AND 2", "BETWEEN" + " ".repeat(50_000) + "x", "IN (" + "a,".repeat(MAX_CLAUSE_LENGTH) + "b)"]) {
      expect(elapsed(() => expect(() => parseClause(clause)).toThrow(FilterSyntaxError))).toBeLessThan(20);
    }
    expect(() => parseClause("= " + "x".repeat(MAX_CLAUSE_LENGTH))).toThrow(`longer than ${MAX_CLAUSE_LENGTH} characters`);
  });

  it("tests long cells in linear time", () => {
    const predicates = ["> 5", "<= 5", "BETWEEN 1 AND 2", "= 5", "!= 5", "IN (1, 2, x)", "5"].map((c) => parseClause(c)!);
    for (const cell of ["1".repeat(20_000) + "x", "1" + " ".repeat(20_000) + "x", "-" + "1".repeat(20_000) + "x", "1".repeat(1_000_000)]) {
      expect(elapsed(() => expect(predicates.map((p) => p(cell))).toEqual([false, false, false, false, true, false, false]))).toBeLessThan(50);
    }
  });
});
