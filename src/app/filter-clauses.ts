/**
 * The legacy filter language, one clause per column: `> < >= <= = !=` a value, `BETWEEN a AND b`,
 * `IN (a, 'b c', ...)`, or a bare value (equality). Order comparisons and BETWEEN are numeric: a cell
 * that is not a number (empty included) fails them and its row is left out. `=`, `!=` and IN compare
 * numbers as numbers when both sides are numeric, and text as text otherwise.
 *
 * Clauses are scanned by hand, in one pass: the regular expressions this replaces backtracked
 * cubically on clauses such as "BETWEEN" followed by thousands of spaces.
 */

import { parseNumber } from "../lib/numbers";

export type Predicate = (cell: string) => boolean;

export class FilterSyntaxError extends Error {}

/** No real filter comes close; the cap bounds the work a clause can ask for. */
export const MAX_CLAUSE_LENGTH = 1_000;

const OPERATORS = [">=", "<=", "!=", "<>", "=", ">", "<"] as const;
const ORDER = { ">": (n: number, bound: number) => n > bound, "<": (n: number, bound: number) => n < bound, ">=": (n: number, bound: number) => n >= bound, "<=": (n: number, bound: number) => n <= bound };

export function parseClause(clause: string): Predicate | null {
  if (clause.length > MAX_CLAUSE_LENGTH) throw new FilterSyntaxError(`the clause is longer than ${MAX_CLAUSE_LENGTH} characters`);
  const text = clause.trim();
  if (text === "") return null;
  const between = betweenBounds(text);
  if (between) {
    const low = parseNumber(unquote(between[0]));
    const high = parseNumber(unquote(between[1]));
    if (low === null || high === null) throw new FilterSyntaxError(`BETWEEN needs two numbers: ${text}`);
    return numeric((n) => n >= low && n <= high);
  }
  const list = inListBody(text);
  if (list !== null) {
    const values = listItems(list);
    if (values.every((v) => v === "")) throw new FilterSyntaxError(`IN needs at least one value: ${text}`);
    return oneOf(values);
  }
  const operator = OPERATORS.find((op) => text.startsWith(op));
  const value = unquote(operator ? text.slice(operator.length) : text);
  if (operator === undefined || operator === "=") return oneOf([value]);
  if (operator === "!=" || operator === "<>") {
    const equal = oneOf([value]);
    return (cell) => !equal(cell);
  }
  const bound = parseNumber(value);
  if (bound === null) throw new FilterSyntaxError(`'${operator}' needs a number: ${text}`);
  const order = ORDER[operator];
  return numeric((n) => order(n, bound));
}

function numeric(test: (n: number) => boolean): Predicate {
  return (cell) => {
    const n = parseNumber(cell);
    return n !== null && test(n);
  };
}

/** Equal to one of `values`: as numbers when both sides are numeric, as (trimmed) text otherwise. */
function oneOf(values: string[]): Predicate {
  // Set lookups, not a scan of the list per cell. A numeric cell can only equal a numeric value (its
  // text could only equal a value that is numeric too), so numbers and text are looked up apart.
  const numbers = new Set(values.map(parseNumber).filter((n): n is number => n !== null));
  const texts = new Set(values);
  return (cell) => {
    const n = parseNumber(cell);
    return n !== null ? numbers.has(n) : texts.has(cell.trim());
  };
}

/**
 * The two bounds of `BETWEEN low AND high` (any case), or null if `text` is not one. AND is the first
 * one with whitespace on both sides and at least one character between it and BETWEEN's whitespace,
 * which is where the legacy regular expression split the clause.
 */
function betweenBounds(text: string): [string, string] | null {
  if (!hasWordAt(text, 0, "between") || !isSpace(text, 7)) return null;
  for (let and = 10; and + 3 < text.length; and++) {
    if (isSpace(text, and - 1) && hasWordAt(text, and, "and") && isSpace(text, and + 3)) return [text.slice(8, and - 1), text.slice(and + 4)];
  }
  return null;
}

/** What is between the parentheses of `IN (...)` (any case), or null if `text` is not one. */
function inListBody(text: string): string | null {
  if (!hasWordAt(text, 0, "in")) return null;
  let open = 2;
  while (isSpace(text, open)) open++;
  return text[open] === "(" && open < text.length - 1 && text.endsWith(")") ? text.slice(open + 1, -1) : null;
}

/** Splits `a, 'b, c', "d"` on commas outside quotes. */
export function listItems(text: string): string[] {
  const items: string[] = [];
  let current = "";
  let quote: string | null = null;
  for (const c of text) {
    if (quote) {
      current += c;
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') {
      quote = c;
      current += c;
    } else if (c === ",") {
      items.push(current);
      current = "";
    } else current += c;
  }
  if (quote) throw new FilterSyntaxError("unbalanced quote in IN list");
  items.push(current);
  return items.map(unquote);
}

function unquote(text: string): string {
  const t = text.trim();
  const quote = t[0];
  return t.length >= 2 && (quote === "'" || quote === '"') && t.endsWith(quote) ? t.slice(1, -1) : t;
}

/** Whether the lower-case ASCII `word` is at `at` in `text`, in any case. */
function hasWordAt(text: string, at: number, word: string): boolean {
  if (at + word.length > text.length) return false;
  for (let k = 0; k < word.length; k++) if ((text.charCodeAt(at + k) | 0x20) !== word.charCodeAt(k)) return false;
  return true;
}

const SPACE = /\s/;

function isSpace(text: string, i: number): boolean {
  return i < text.length && SPACE.test(text[i]!);
}
