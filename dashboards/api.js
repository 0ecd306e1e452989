// The operator API, called with the token the operator typed (kept in this tab's sessionStorage only).

let token = sessionStorage.getItem("adminToken") || "";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export const currentToken = () => token;

export function useToken(value) {
  token = value;
  sessionStorage.setItem("adminToken", value);
}

/** @param {string} path @param {{ method?: string, body?: unknown, accept?: string }} [init] */
async function call(path, { method = "GET", body, accept = "application/json" } = {}) {
  const headers = { authorization: `Bearer ${token}`, accept };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw await refusal(res);
  return res;
}

/** The Worker's `{error, field}` as one message. */
async function refusal(res) {
  const body = await res.json().catch(() => ({}));
  const field = body.field ? ` (field: ${body.field})` : "";
  return new ApiError(res.status, `${body.error || `HTTP ${res.status}`}${field}`);
}

export async function api(path, init) {
  return (await call(path, init)).json();
}

export async function apiCsv(path) {
  return (await call(path, { accept: "text/csv" })).text();
}
