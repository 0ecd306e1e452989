import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import { KNOWN_CSV, KNOWN_CUT, KNOWN_RESULT } from "../../src/validation/processing";

/**
 * The processing check's known answer, derived here without the app's CSV code: papaparse reads the
 * input, and the cut is written by the rules the app documents (README "cutting"): RFC 4180
 * quoting, CRLF, a ' before cells starting = + - @ (tab, CR) that are not plain numbers.
 */
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

function cell(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) && !NUMBER.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) || /^\s|\s$/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

describe("the processing check's known answer", () => {
  it("is the cut of the known CSV, as computed independently", () => {
    const parsed = Papa.parse<string[]>(KNOWN_CSV, { skipEmptyLines: true });
    expect(parsed.errors).toEqual([]);
    const [header, ...rows] = parsed.data;
    const at = (name: string) => header!.indexOf(name);
    const [column, clause] = Object.entries(KNOWN_CUT.filters)[0]!;
    expect(clause).toBe(">= 100");
    const kept = rows.filter((r) => NUMBER.test(r[at(column)]!) && Number(r[at(column)]) >= 100);
    const expected = [KNOWN_CUT.columns, ...kept.map((r) => KNOWN_CUT.columns.map((c) => r[at(c)]!))].map((r) => r.map(cell).join(",") + "\r\n").join("");
    expect(KNOWN_RESULT).toBe(expected);
    // It exercises what it claims to: a quoted comma, a formula, a kept negative number, a cell of two lines, a dropped non-number.
    expect(KNOWN_RESULT).toContain('"Smith, Jane"');
    expect(KNOWN_RESULT).toContain("'=SUM(A1:A2)");
    expect(KNOWN_RESULT).toContain(",-5,");
    expect(KNOWN_RESULT).toContain('"two\nlines"');
    expect(KNOWN_CSV).toContain("n/a");
    expect(KNOWN_RESULT).not.toContain("Ann");
  });
});
