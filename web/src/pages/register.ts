import { api, ApiError } from "../api";
import { field, h, input, showFieldErrors } from "../dom";
import { navigate } from "../router";
import { submitting } from "./forms";

/** /register — a new account; then the login page, with the username filled in. */
export function registerPage(view: HTMLElement): void {
  const username = field("Username", input({ name: "username", autocomplete: "username", required: true, maxlength: 150, pattern: "[\\w.@+\\-]+" }), "Letters, digits and @ . + - _ only; at most 150 characters.");
  const email = field("Email (optional)", input({ name: "email", type: "email", autocomplete: "email", maxlength: 254 }));
  const password = field("Password", input({ name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 8 }), "At least 8 characters, not all digits, and not like your username.");
  const password2 = field("Confirm password", input({ name: "password2", type: "password", autocomplete: "new-password", required: true }));
  const form = h("form", { class: "card auth" }, username.wrapper, email.wrapper, password.wrapper, password2.wrapper, h("button", { type: "submit" }, "Create account"));
  view.append(h("h1", {}, "Create an account"), form, h("p", {}, "Already registered? ", h("a", { href: "/login" }, "Log in"), "."));

  submitting(form, "Creating your account…", async () => {
    const name = username.control.value.trim();
    try {
      await api.register({ username: name, email: email.control.value.trim(), password: password.control.value, password2: password2.control.value });
    } catch (e) {
      if (e instanceof ApiError) showFieldErrors(form, e.fields);
      throw e;
    }
    navigate(`/login?username=${encodeURIComponent(name)}`, { message: `Account ${name} created. Log in with your new password.` });
  });
}
