import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FilterSyntaxError, listItems, parseClause, type Predicate } from "../../src/app/filter-clauses";

/**
 * The regex-based parser the scanner replaced, kept as the reference for its semantics (it is only
 * fed short clauses here, where its backtracking does not matter).
 */
function legacyParseClause(clause: string): Predicate | null {
  const NUMERIC = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;
  const number = (text: string) => (NUMERIC.test(text) ? Number(text) : null);
  const unquote = (text: string) => {
    const t = text.trim();
    return /^'.*'$|^".*"$/s.test(t) && t.length >= 2 ? t.slice(1, -1) : t;
  };
  const same = (cell: string, value: string) => {
    const a = number(cell);
    const b = number(value);
    return a !== null && b !== null ? a === b : cell.trim() === value;
  };
  const text = clause.trim();
  if (text === "") return null;
  const between = /^between\s+(.+?)\s+and\s+(.+)$/is.exec(text);
  if (between) {
    const low = number(unquote(between[1]!));
    const high = number(unquote(between[2]!));
    if (low === null || high === null) throw new FilterSyntaxError(`BETWEEN needs two numbers: ${text}`);
    return (cell) => {
      const n = number(cell);
      return n !== null && n >= low && n <= high;
    };
  }
  const inList = /^in\s*\((.*)\)$/is.exec(text);
  if (inList) {
    const values = listItems(inList[1]!);
    if (values.length === 0 || values.every((v) => v === "")) throw new FilterSyntaxError(`IN needs at least one value: ${text}`);
    return (cell) => values.some((v) => same(cell, v));
  }
  const comparison = /^(>=|<=|!=|<>|=|>|<)\s*(.*)$/s.exec(text);
  const operator = comparison?.[1] ?? "=";
  const value = unquote(comparison ? comparison[2]! : text);
  if (operator === "=") return (cell) => same(cell, value);
  if (operator === "!=" || operator === "<>") return (cell) => !same(cell, value);
  const bound = number(value);
  if (bound === null) throw new FilterSyntaxError(`'${operator}' needs a number: ${text}`);
  const test = { ">": (n: number) => n > bound, "<": (n: number) => n < bound, ">=": (n: number) => n >= bound, "<=": (n: number) => n <= bound }[operator as ">" | "<" | ">=" | "<="];
  return (cell) => {
    const n = number(cell);
    return n !== null && test(n);
  };
}

type Outcome = { error: string } | { results: boolean[] } | null;

function outcome(parse: (clause: string) => Predicate | null, clause: string, cells: string[]): Outcome {
  try {
    const predicate = parse(clause);
    return predicate && { results: cells.map(predicate) };
  } catch (e) {
    if (!(e instanceof FilterSyntaxError)) throw e;
    return { error: e.message };
  }
}

const TOKENS = ["between", "BETWEEN", "Between", "and", "AND", "in", "IN", "(", ")", ",", "'", '"', " ", " ", "  ", "\t", "\n", "1", "-2.5", ".5", "1e3", "+7", "10", "x", "Oslo", "San Jose", ">", "<", "=", "!", ">=", "<=", "!=", "<>", "andx", "e"];
const CELLS = ["", " ", "1", "1.0", " 1 ", "-2.5", "10", "1000", "1e3", ".5", "0.5", "7", "x", "Oslo", "San Jose", "'x'", "and", "between", "(1)", "\t10\n", "2", "5"];

const clause = fc.array(fc.constantFrom(...TOKENS), { maxLength: 12 }).map((t) => t.join(""));
const cell = fc.oneof(fc.constantFrom(...CELLS), clause);

describe("the clause scanner keeps the legacy filter semantics", () => {
  it("agrees with the regex parser on generated clauses and cells", () => {
    fc.assert(
      fc.property(clause, fc.array(cell, { maxLength: 8 }), (text, extra) => {
        const cells = [...CELLS, ...extra];
        expect(outcome(parseClause, text, cells)).toEqual(outcome(legacyParseClause, text, cells));
      }),
      { numRuns: 20_000 },
    );
  });

  it.each([
    "BETWEEN 10 AND 40",
    "between   and 5",
    "between  and 5",
    "BETWEEN '1' AND \"3\"",
    "BETWEEN 1 and 2 and 3",
    "between\t1\nAND\t2",
    "in(1,2)",
    "IN ()",
    "IN ( , )",
    "IN (a, 'b, c', \"d\")",
    "IN ('a)",
    "inx (1)",
    "> 20",
    ">=-1000",
    "<> Lima",
    "!=",
    "= 100.0",
    "'quoted'",
    "'",
    "\"x'",
    "> lots",
  ])("%j", (text) => {
    expect(outcome(parseClause, text, CELLS)).toEqual(outcome(legacyParseClause, text, CELLS));
  });
});
