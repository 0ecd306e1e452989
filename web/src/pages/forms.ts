import { ApiError, SessionEnded } from "../api";
import { announce } from "../dom";

/**
 * Runs `action` on the form's submit (after the browser's own checks), with its submit buttons
 * disabled and `busy` said meanwhile; a failure is said in the status region, in the server's words.
 */
export function submitting(form: HTMLFormElement, busy: string, action: (submitter: HTMLElement | null) => Promise<void>): void {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const buttons = [...form.querySelectorAll<HTMLButtonElement>("button")];
    buttons.forEach((b) => (b.disabled = true));
    announce(busy, "busy");
    try {
      await action(event.submitter);
    } catch (e) {
      reportError(e);
    } finally {
      buttons.forEach((b) => (b.disabled = false));
    }
  });
}

/** A problem the page found itself (nothing chosen, say): said as it is. */
export class UserError extends Error {}

/** Says what went wrong; a session that ended has already taken the user to the login page. */
export function reportError(e: unknown): void {
  if (e instanceof SessionEnded || (e instanceof DOMException && e.name === "AbortError")) return;
  if (e instanceof ApiError || e instanceof UserError) announce(e.message, "error");
  else {
    console.error(e);
    announce(e instanceof Error ? `Something went wrong: ${e.message}` : "Something went wrong.", "error");
  }
}
