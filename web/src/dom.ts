// DOM helpers. Every text from a file or the server goes in as a text node or an attribute value:
// nothing here parses HTML, and no inline style or event handler attribute is ever written (CSP).

export type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined>;

/** An element with attributes (true: present, false/null/undefined: absent) and children (strings as text). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (/^on|^style$/i.test(name)) throw new Error(`h(): ${name} is not allowed; use addEventListener or a class`);
    if (value === true) el.setAttribute(name, "");
    else if (value !== false && value !== null && value !== undefined) el.setAttribute(name, String(value));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Element, ...children: Child[]): void {
  for (const child of children) if (child !== null && child !== undefined && child !== false) parent.append(typeof child === "number" ? String(child) : child);
}

/** A button (never a form submit unless asked) running `action` on click. */
export function button(label: string, action: (event: MouseEvent) => void, attrs: Attrs = {}): HTMLButtonElement {
  const el = h("button", { type: "button", ...attrs }, label);
  el.addEventListener("click", action);
  return el;
}

let nextId = 0;
export const uid = (prefix: string): string => `${prefix}-${++nextId}`;

export interface Field<E extends HTMLInputElement | HTMLSelectElement> {
  wrapper: HTMLDivElement;
  control: E;
}

/** A labelled control, with an optional hint and a slot for its error, both tied to it by aria-describedby. */
export function field<E extends HTMLInputElement | HTMLSelectElement>(label: string, control: E, hint?: string): Field<E> {
  control.id ||= uid("f");
  const hintEl = hint ? h("p", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  const errorEl = h("p", { class: "field-error", id: `${control.id}-error` });
  control.setAttribute("aria-describedby", [hintEl?.id, errorEl.id].filter(Boolean).join(" "));
  const wrapper = h("div", { class: "field" }, h("label", { for: control.id }, label), hintEl, control, errorEl);
  return { wrapper, control };
}

export function input(attrs: Attrs): HTMLInputElement {
  return h("input", { type: "text", ...attrs });
}

export function select(options: readonly (readonly [value: string, label: string])[], attrs: Attrs = {}): HTMLSelectElement {
  return h("select", attrs, ...options.map(([value, label]) => h("option", { value }, label)));
}

/** Shows field errors (DRF shape) beside the controls of `form` named after them; returns those it could not place. */
export function showFieldErrors(form: HTMLFormElement, fields: Record<string, string[]>): string[] {
  const unplaced: string[] = [];
  for (const control of form.querySelectorAll<HTMLInputElement>("[aria-invalid]")) {
    control.removeAttribute("aria-invalid");
    const slot = document.getElementById(`${control.id}-error`);
    if (slot) slot.textContent = "";
  }
  for (const [name, messages] of Object.entries(fields)) {
    const control = form.elements.namedItem(name);
    const slot = control instanceof HTMLElement ? document.getElementById(`${control.id}-error`) : null;
    if (control instanceof HTMLElement && slot) {
      control.setAttribute("aria-invalid", "true");
      slot.textContent = messages.join(" ");
    } else unplaced.push(...messages);
  }
  return unplaced;
}

const statusEl = (): HTMLElement => document.getElementById("status")!;

/** Says something in the page's live region (role="status"): progress, outcomes and errors. */
export function announce(text: string, kind: "info" | "error" | "busy" | "ok" = "info"): void {
  const el = statusEl();
  el.className = `status ${kind}`;
  el.textContent = text;
}

export function clearStatus(): void {
  announce("");
}

/** A table that scrolls sideways inside its own box on narrow screens, reachable by keyboard to scroll. */
export function scrollingTable(label: string, head: string[], rows: HTMLTableRowElement[]): HTMLDivElement {
  const table = h("table", {}, h("thead", {}, h("tr", {}, ...head.map((c) => h("th", { scope: "col" }, c)))), h("tbody", {}, ...rows));
  return h("div", { class: "table-scroll", role: "region", "aria-label": label, tabindex: 0 }, table);
}

export function row(...cells: Child[]): HTMLTableRowElement {
  return h("tr", {}, ...cells.map((c) => (c instanceof HTMLTableCellElement ? c : h("td", {}, c))));
}

/** Legacy timestamps come as "2024-02-03 04:05:06.789+00", the new app's as ISO 8601. */
export function parseTimestamp(text: string): Date | null {
  const iso = text.trim().replace(" ", "T").replace(/([+-]\d\d)$/, "$1:00");
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function timeElement(text: string): HTMLElement {
  const date = parseTimestamp(text);
  if (!date) return h("span", {}, text);
  return h("time", { datetime: date.toISOString() }, date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }));
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${n} bytes`;
}

/** Hands `blob` to the browser as a download named `name`. */
export function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name, class: "visually-hidden" });
  document.body.append(a);
  a.click();
  a.remove();
  // The download has started by now; the URL only has to outlive the click.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** `name` without its .csv ending. */
export const baseName = (name: string): string => name.replace(/\.csv$/i, "");
