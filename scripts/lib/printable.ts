// Text from the Worker, and through it from legacy export rows, as an operator's terminal may show
// it: a control character in a field (ESC [2J, CSI 0x9b…) could clear the screen, move the cursor or
// retitle the window, so each is shown as an escape instead. The --json outputs do not go through
// here.

/** C0 controls (newline and tab too: a field stays on its line), DEL and C1 controls. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** `text` with each control character written as `\xNN` ("\u001b" → "\x1b"). */
export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** A JSON value with every string in it, object keys too, made printable. */
export function printableDeep<T>(value: T): T {
  if (typeof value === "string") return printable(value) as T;
  if (Array.isArray(value)) return value.map(printableDeep) as T;
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [printable(key), printableDeep(inner)])) as T;
  }
  return value;
}
