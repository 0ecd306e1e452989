/** CSV as the new app writes it: RFC 4180 quoting, and no live spreadsheet formulas. */

import { isNumberLiteral } from "../lib/numbers";

/**
 * A cell safe to open in a spreadsheet: text starting with = + - @ (or a tab/CR, which some
 * spreadsheets strip first) is prefixed with ' so it is shown, not evaluated. Plain numbers such as
 * -5 or +3.2 are left alone.
 */
export function neutraliseFormula(cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) && !isNumberLiteral(cell) ? `'${cell}` : cell;
}

export function csvCell(cell: string): string {
  const safe = neutraliseFormula(cell);
  return /[",\r\n]/.test(safe) || /^\s|\s$/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvLine(cells: readonly string[]): string {
  return cells.map(csvCell).join(",") + "\r\n";
}
