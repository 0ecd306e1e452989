import { api, ApiError } from "../api";
import { field, h, input, showFieldErrors } from "../dom";
import { navigate, safeNext, type PageContext } from "../router";
import { session } from "../session";
import { submitting } from "./forms";

/** /login — username and password; the tokens go to sessionStorage, then on to `next` or /files. */
export function loginPage(view: HTMLElement, { query }: PageContext): void {
  const username = field("Username", input({ name: "username", autocomplete: "username", required: true, maxlength: 150, value: query.get("username") ?? "" }));
  const password = field("Password", input({ name: "password", type: "password", autocomplete: "current-password", required: true }));
  const form = h("form", { class: "card auth" }, username.wrapper, password.wrapper, h("button", { type: "submit" }, "Log in"));
  view.append(
    h("h1", {}, "Log in"),
    form,
    h("p", {}, "New here? ", h("a", { href: "/register" }, "Create an account"), "."),
  );

  submitting(form, "Logging in…", async () => {
    const name = username.control.value.trim();
    try {
      const tokens = await api.login(name, password.control.value);
      session.start(tokens, name);
    } catch (e) {
      if (e instanceof ApiError) showFieldErrors(form, e.fields);
      throw e;
    }
    navigate(safeNext(query, "/files"), { message: `Logged in as ${name}.` });
  });
}
