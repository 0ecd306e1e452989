// Filter clauses as the API takes them (src/app/filter-clauses.ts on the new app, the same language on
// legacy): one clause per column, `> < >= <= = !=` a value, `BETWEEN a AND b`, `IN (a, 'b c', ...)`.
// The cut page builds them from an operator and values, and reads saved ones back into that form.

export const OPERATORS = [
  ["=", "= equals"],
  ["!=", "!= does not equal"],
  [">", "> greater than"],
  [">=", ">= at least"],
  ["<", "< less than"],
  ["<=", "<= at most"],
  ["BETWEEN", "BETWEEN … AND … (numbers)"],
  ["IN", "IN (one of a list)"],
] as const;

export type Operator = (typeof OPERATORS)[number][0];

export interface Clause {
  column: string;
  operator: Operator;
  value: string;
  /** BETWEEN's upper bound. */
  value2: string;
}

/**
 * The clause text for the API. `=` and `!=` values go in double quotes, which the API strips without
 * reading anything inside them: any text (a comma, a leading `=`, quotes of its own) compares as typed.
 * IN lists are passed as typed: their commas separate values, and a value holding one is quoted.
 */
export function clauseText({ operator, value, value2 }: Clause): string {
  const v = value.trim();
  if (operator === "BETWEEN") return `BETWEEN ${v} AND ${value2.trim()}`;
  if (operator === "IN") return `IN (${v})`;
  if (operator === "=" || operator === "!=") return `${operator} "${v}"`;
  return `${operator} ${v}`;
}

function unquote(text: string): string {
  const t = text.trim();
  const q = t[0];
  return t.length >= 2 && (q === "'" || q === '"') && t.endsWith(q) ? t.slice(1, -1) : t;
}

/** A stored clause (ours, or one saved on legacy) back as operator and values. */
export function parseClauseText(column: string, text: string): Clause {
  const t = text.trim();
  const between = /^between\s+(.+?)\s+and\s+(.+)$/is.exec(t);
  if (between) return { column, operator: "BETWEEN", value: unquote(between[1]!), value2: unquote(between[2]!) };
  const list = /^in\s*\((.*)\)$/is.exec(t);
  if (list) return { column, operator: "IN", value: list[1]!.trim(), value2: "" };
  const op = [">=", "<=", "!=", "<>", "=", ">", "<"].find((o) => t.startsWith(o));
  const operator: Operator = op === undefined ? "=" : op === "<>" ? "!=" : (op as Operator);
  return { column, operator, value: unquote(op ? t.slice(op.length) : t), value2: "" };
}

/** What a saved filter holds: the columns to keep (null: all) and a clause per column. */
export interface FilterSettings {
  columns: string[] | null;
  clauses: Record<string, string>;
}

/**
 * filter_config as legacy stores it: `{column: clause, ...}`, plus `columns: [...]` for the columns
 * kept. A clause is text and the column list an array, so a column named "columns" can still have a
 * clause; only then is the list left out (the filter keeps every column).
 */
export function toFilterConfig({ columns, clauses }: FilterSettings): Record<string, unknown> {
  return "columns" in clauses || columns === null ? { ...clauses } : { ...clauses, columns };
}

export function fromFilterConfig(config: Record<string, unknown>): FilterSettings {
  const clauses: Record<string, string> = {};
  let columns: string[] | null = null;
  for (const [key, value] of Object.entries(config)) {
    if (typeof value === "string") clauses[key] = value;
    else if (key === "columns" && Array.isArray(value)) columns = value.filter((c): c is string => typeof c === "string");
  }
  return { columns, clauses };
}

/** "amount > 100; city IN (Oslo, Lima)" */
export function describeClauses(clauses: Record<string, string>): string {
  const parts = Object.entries(clauses).map(([column, clause]) => `${column} ${clause.trim()}`);
  return parts.length > 0 ? parts.join("; ") : "no clauses (every row)";
}
