/**
 * Headers of every page the Worker serves (the end-user app and the operator dashboard): scripts and
 * styles from this origin only, no inline code, no framing, calls to this origin only.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};
