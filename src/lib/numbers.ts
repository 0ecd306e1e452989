/**
 * Number recognition for CSV cells and filter values, by a single left-to-right scan: a backtracking
 * regular expression is quadratic on cells such as "1111…1x", which anyone can upload.
 */

/** Longer text is never read as a number, so a huge cell costs nothing to classify. */
export const MAX_NUMBER_LENGTH = 400;

/**
 * Whether `text` is exactly a decimal literal: `[+-]?(digits[.[digits]] | .digits)([eE][+-]?digits)?`,
 * with no surrounding whitespace (and at most MAX_NUMBER_LENGTH characters).
 */
export function isNumberLiteral(text: string): boolean {
  const end = text.length;
  if (end === 0 || end > MAX_NUMBER_LENGTH) return false;
  let i = sign(text, 0);
  const whole = digits(text, i);
  let count = whole - i;
  i = whole;
  if (text.charCodeAt(i) === DOT) {
    const fraction = digits(text, i + 1);
    count += fraction - (i + 1);
    i = fraction;
  }
  if (count === 0) return false;
  const e = text.charCodeAt(i);
  if (e === 0x65 || e === 0x45) {
    const start = sign(text, i + 1);
    i = digits(text, start);
    if (i === start) return false;
  }
  return i === end;
}

/** The value of a decimal literal, allowing whitespace around it; null for anything else. */
export function parseNumber(text: string): number | null {
  const literal = text.trim();
  return isNumberLiteral(literal) ? Number(literal) : null;
}

const DOT = 0x2e;

function sign(text: string, i: number): number {
  const c = text.charCodeAt(i);
  return c === 0x2b || c === 0x2d ? i + 1 : i;
}

/** The index just past the run of ASCII digits starting at i. */
function digits(text: string, i: number): number {
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c < 0x30 || c > 0x39) break;
    i++;
  }
  return i;
}
