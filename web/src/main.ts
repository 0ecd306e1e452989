// List Cutter's pages: a single-page app on the legacy API contract (see README "Web app").
import { api, onSessionEnded } from "./api";
import { button, h } from "./dom";
import { cutPage } from "./pages/cut";
import { filesPage } from "./pages/files";
import { filtersPage } from "./pages/filters";
import { reportError } from "./pages/forms";
import { loginPage } from "./pages/login";
import { registerPage } from "./pages/register";
import { uploadPage } from "./pages/upload";
import { navigate, startRouter } from "./router";
import { session } from "./session";

const NAV_SIGNED_IN = [
  ["/files", "My files"],
  ["/upload", "Upload"],
  ["/filters", "Saved filters"],
] as const;
const NAV_SIGNED_OUT = [
  ["/login", "Log in"],
  ["/register", "Register"],
] as const;

/** The header's navigation for who is signed in, with the current page marked. */
function renderNav(path: string): void {
  const links = session.signedIn() ? NAV_SIGNED_IN : NAV_SIGNED_OUT;
  const current = (href: string) => path === href || (href === "/files" && path.startsWith("/files/"));
  const items = links.map(([href, label]) => h("li", {}, h("a", { href, "aria-current": current(href) ? "page" : null }, label)));
  const account = session.signedIn()
    ? h("div", { class: "account" }, h("span", {}, "Signed in as ", h("strong", {}, session.username())), button("Log out", () => logOut().catch(reportError), { class: "secondary small on-dark" }))
    : null;
  document.getElementById("nav")!.replaceChildren(h("ul", {}, ...items), ...(account ? [account] : []));
}

async function logOut(): Promise<void> {
  const tokens = session.tokens();
  try {
    // Revokes the refresh token; the access token lapses within minutes anyway.
    if (tokens) await api.logout(tokens.refresh);
  } finally {
    session.end();
    navigate("/login", { message: "You are logged out." });
  }
}

onSessionEnded(() => {
  const here = location.pathname + location.search;
  navigate(`/login?next=${encodeURIComponent(here)}`, { message: "Your session has ended. Please log in again." });
});

const notFound = (view: HTMLElement) => {
  view.append(h("h1", {}, "Page not found"), h("p", {}, "There is no page at this address. ", h("a", { href: "/" }, "Go to the start"), "."));
};

startRouter({
  main: document.getElementById("main")!,
  signedIn: () => session.signedIn(),
  onNavigate: renderNav,
  onError: reportError,
  notFound,
  routes: [
    { path: "/", page: () => navigate(session.signedIn() ? "/files" : "/login", { replace: true }) },
    { path: "/login", page: loginPage, access: "guest" },
    { path: "/register", page: registerPage, access: "guest" },
    { path: "/files", page: filesPage, access: "user" },
    { path: "/upload", page: uploadPage, access: "user" },
    { path: "/files/:id/cut", page: cutPage, access: "user" },
    { path: "/filters", page: filtersPage, access: "user" },
  ],
});
