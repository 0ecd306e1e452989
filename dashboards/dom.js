// DOM helpers. Server data only ever becomes text: strings among the children are appended as text
// nodes and properties are assigned one by one, so nothing here parses markup.

/** @type {(id: string) => any} */
export const $ = (id) => document.getElementById(id);

const SVG_NS = "http://www.w3.org/2000/svg";

/** Properties set as attributes (the rest are assigned as element properties). */
const ATTRIBUTES = new Set(["role", "colspan", "scope"]);

function assign(node, props, children) {
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (ATTRIBUTES.has(key) || key.includes("-") || node instanceof SVGElement) node.setAttribute(key, value === true ? "" : String(value));
    else node[key] = value;
  }
  // append() turns strings into text nodes.
  node.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false).map((c) => (c instanceof Node ? c : String(c))));
  return node;
}

/** An HTML element: `el("td", { className: "n" }, "text", otherNode)`. */
export function el(tag, props = {}, ...children) {
  return assign(document.createElement(tag), props, children);
}

/** An SVG element; every prop is an attribute. */
export function svg(tag, attrs = {}, ...children) {
  return assign(document.createElementNS(SVG_NS, tag), attrs, children);
}

/** Sets a node's text only when it changed (no needless mutations under a screen reader). */
export function setText(node, text) {
  const value = String(text);
  if (node.textContent !== value) node.textContent = value;
}

/** Fills an input with the server's value unless the operator has started editing it. */
export function fillUnlessEdited(input, value) {
  if (input.dataset.edited !== "true" && document.activeElement !== input) input.value = value;
}

/** Marks inputs as edited on input, so polling leaves them alone until `clearEdited`. */
export function trackEdits(...inputs) {
  for (const input of inputs) input.addEventListener("input", () => (input.dataset.edited = "true"));
}

export function clearEdited(...inputs) {
  for (const input of inputs) delete input.dataset.edited;
}

/**
 * Children kept by key across polls: a view is created once per key and updated in place, so a
 * focused button inside it stays focused while the page refreshes around it.
 */
export class KeyedList {
  #views = new Map();

  constructor(parent, create) {
    this.parent = parent;
    this.create = create;
  }

  update(items, keyOf) {
    const keys = items.map(keyOf);
    for (const [key, view] of this.#views) {
      if (!keys.includes(key)) {
        view.node.remove();
        this.#views.delete(key);
      }
    }
    items.forEach((item, i) => {
      let view = this.#views.get(keys[i]);
      if (!view) this.#views.set(keys[i], (view = this.create(item)));
      view.update(item);
      const at = this.parent.children[i];
      if (at !== view.node) this.parent.insertBefore(view.node, at ?? null);
    });
  }
}

/**
 * Buttons that do not apply stay in place (aria-disabled rather than disabled or hidden), so the
 * keyboard focus never falls out of the page when a poll changes what applies.
 */
export function setEnabled(button, enabled) {
  button.setAttribute("aria-disabled", String(!enabled));
}

export const isEnabled = (button) => button.getAttribute("aria-disabled") !== "true";
