// Modal questions with <dialog>: focus stays inside, Escape cancels, and focus returns to the control
// that opened it.
import { button, h, uid, type Child } from "./dom";

export interface Question {
  title: string;
  body?: Child[];
  confirm: string;
  danger?: boolean;
}

/** Asks `question`; true if the user confirmed (the form's own constraints, such as required, hold first). */
export function ask({ title, body = [], confirm, danger = false }: Question): Promise<boolean> {
  const titleId = uid("dialog-title");
  const form = h("form", { method: "dialog" });
  const dialog = h("dialog", { "aria-labelledby": titleId }, form);
  const cancel = button("Cancel", () => dialog.close("cancel"), { class: "secondary" });
  // The confirming button comes first in the form, so that Enter in a field confirms.
  const actions = h("div", { class: "actions dialog-actions" }, h("button", { type: "submit", value: "ok", class: danger ? "danger" : null }, confirm), cancel);
  form.append(h("h2", { id: titleId }, title), ...body.filter((c): c is Node | string => c !== null && c !== undefined && c !== false).map((c) => (typeof c === "number" ? String(c) : c)), actions);
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok");
      dialog.remove();
    });
    dialog.showModal();
  });
}
