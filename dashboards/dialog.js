// One modal dialog for every change the operator confirms (the page's <dialog id="confirm">).
import { $, setText } from "./dom.js";

const dialog = $("confirm");
const reasonBox = $("confirmReasonBox");
const reason = $("confirmReason");
const ok = $("confirmOk");

$("confirmForm").addEventListener("submit", (event) => {
  event.preventDefault();
  dialog.close("confirm");
});
$("confirmCancel").addEventListener("click", () => dialog.close("cancel"));

/**
 * Asks before a change. `reason`: null (none asked), or { label, required }. Resolves to
 * { reason } on confirm ("" when none was given), null on cancel or Escape.
 */
export function confirmChange({ title, text, confirmLabel, danger = false, reason: ask = null }) {
  setText($("confirmTitle"), title);
  setText($("confirmText"), text);
  setText(ok, confirmLabel);
  ok.classList.toggle("danger", danger);
  reasonBox.hidden = !ask;
  reason.required = Boolean(ask?.required);
  reason.value = "";
  setText($("confirmReasonLabel"), ask ? `${ask.label}${ask.required ? " (required)" : " (optional)"}` : "");
  dialog.returnValue = "";
  dialog.showModal();
  // The safe choice has the focus, unless there is a reason to type.
  (ask ? reason : $("confirmCancel")).focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm" ? { reason: reason.value.trim() } : null), { once: true });
  });
}
