/**
 * The legacy filter language, one clause per column: `> < >= <= = !=` a value, `BETWEEN a AND b`,
 * `IN (a, 'b c', ...)`, or a bare value (equality). Order comparisons and BETWEEN are numeric: a cell
 * that is not a number (empty included) fails them and its row is left out. `=`, `!=` and IN compare
 * numbers as numbers when both sides are numeric, and text as text otherwise.
 */

export type Predicate = (cell: string) => boolean;

export class FilterSyntaxError extends Error {}

const NUMERIC = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

function number(text: string): number | null {
  return NUMERIC.test(text) ? Number(text) : null;
}

function unquote(text: string): string {
  const t = text.trim();
  return /^'.*'$|^".*"$/s.test(t) && t.length >= 2 ? t.slice(1, -1) : t;
}

function same(cell: string, value: string): boolean {
  const a = number(cell);
  const b = number(value);
  return a !== null && b !== null ? a === b : cell.trim() === value;
}

/** Splits `a, 'b, c', "d"` on commas outside quotes. */
function listItems(text: string): string[] {
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

export function parseClause(clause: string): Predicate | null {
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
