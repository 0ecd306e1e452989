// The List Cutter API client: the legacy contract's paths and shapes only, so the pages work against
// either backend. Bearer access tokens; a 401 refreshes the access token once and retries, and if
// that fails the session ends (the app then shows the login page).
import { session, type Tokens } from "./session";

export interface SavedFile {
  id: number;
  file_id: string;
  file_name: string;
  file_path: string;
  uploaded_at: string;
  system_tags: string[];
  user_tags: string[];
  metadata: Record<string, unknown>;
}

export interface FileContents {
  file_id: string;
  file_name: string;
  file_path: string;
  columns: string[];
  row_count: number | null;
  data: Record<string, string>[];
}

export interface SavedFilter {
  id: number;
  file_id: string | null;
  name: string;
  description: string;
  filter_config: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export interface CutRequest {
  columns: string[];
  file_path: string;
  filters: Record<string, string>;
}

/** A refusal or failure, with the server's own words: `message` for people, `fields` per form field. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fields: Record<string, string[]> = {},
  ) {
    super(message);
  }
}

/** The session could not be renewed; the app has already been told (onSessionEnded). */
export class SessionEnded extends Error {
  constructor() {
    super("Your session has ended. Please log in again.");
  }
}

let sessionEnded: () => void = () => {};
/** What to do when the tokens cannot be renewed (main.ts: back to the login page). */
export function onSessionEnded(handler: () => void): void {
  sessionEnded = handler;
}

/** The people-readable message of an error body: `{error}`, `{detail}` or DRF field errors. */
export function errorFromBody(status: number, text: string, contentType: string): ApiError {
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: a proxy's or the platform's page
  }
  if (body && typeof body === "object" && !Array.isArray(body)) {
    const record = body as Record<string, unknown>;
    if (typeof record.error === "string") return new ApiError(status, record.error);
    if (typeof record.detail === "string") return new ApiError(status, record.detail);
    const fields: Record<string, string[]> = {};
    for (const [name, value] of Object.entries(record)) {
      const messages = (Array.isArray(value) ? value : [value]).filter((m): m is string => typeof m === "string");
      if (messages.length > 0) fields[name] = messages;
    }
    const all = Object.entries(fields).map(([name, messages]) => (name === "non_field_errors" ? messages.join(" ") : `${name}: ${messages.join(" ")}`));
    if (all.length > 0) return new ApiError(status, all.join(" "), fields);
  }
  if (contentType.startsWith("text/plain") && text.trim() && text.length <= 300) return new ApiError(status, text.trim());
  return new ApiError(status, `The server could not do that (HTTP ${status}). Please try again.`);
}

async function errorFrom(res: Response): Promise<ApiError> {
  return errorFromBody(res.status, await res.text().catch(() => ""), res.headers.get("content-type") ?? "");
}

let refreshing: Promise<boolean> | null = null;

/** One refresh at a time, shared by every request that met a 401 meanwhile. */
function refreshAccess(tokens: Tokens): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const res = await fetch("/api/accounts/token/refresh/", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ refresh: tokens.refresh }) });
      if (!res.ok) return false;
      const { access } = (await res.json()) as { access?: unknown };
      if (typeof access !== "string") return false;
      session.setAccess(access);
      return true;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/**
 * Runs `attempt` with the current access token; on a 401, renews the token once and runs it again.
 * If it cannot be renewed, the session ends. `attempt` gets null when nobody is signed in.
 */
async function withSession<T extends { status: number }>(attempt: (access: string | null) => Promise<T>): Promise<T> {
  const tokens = session.tokens();
  const first = await attempt(tokens?.access ?? null);
  if (first.status !== 401 || !tokens) return first;
  if (await refreshAccess(tokens)) {
    const second = await attempt(session.tokens()?.access ?? null);
    if (second.status !== 401) return second;
  }
  // Requests that failed together end the session once (the first one here finds the tokens).
  if (session.signedIn()) {
    session.end();
    sessionEnded();
  }
  throw new SessionEnded();
}

interface RequestOptions {
  method?: string;
  json?: unknown;
  body?: BodyInit;
  signal?: AbortSignal;
  /** Sent without a token, and a 401 is just an answer (logging in, registering). */
  anonymous?: boolean;
}

/** A response that was OK (2xx); anything else is thrown as an ApiError. */
export async function request(path: string, { method = "GET", json, body, signal, anonymous = false }: RequestOptions = {}): Promise<Response> {
  const attempt = (access: string | null) => {
    const headers: Record<string, string> = {};
    if (access) headers.authorization = `Bearer ${access}`;
    if (json !== undefined) headers["content-type"] = "application/json";
    return fetch(path, { method, headers, body: json !== undefined ? JSON.stringify(json) : body, signal });
  };
  const res = anonymous ? await attempt(null) : await withSession(attempt);
  if (!res.ok) throw await errorFrom(res);
  return res;
}

export async function requestJson<T>(path: string, options: RequestOptions = {}): Promise<T> {
  return (await (await request(path, options)).json()) as T;
}

export interface UploadProgress {
  loaded: number;
  total: number;
}

/**
 * POSTs a form with XMLHttpRequest, whose upload events (unlike fetch's) report progress. `abort`
 * stops it (the promise then rejects with an AbortError).
 */
export function uploadForm<T>(path: string, form: FormData, onProgress: (p: UploadProgress) => void, signal?: AbortSignal): Promise<T> {
  const send = (access: string | null) =>
    new Promise<{ status: number; text: string; contentType: string }>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", path);
      if (access) xhr.setRequestHeader("authorization", `Bearer ${access}`);
      xhr.upload.addEventListener("progress", (e) => onProgress({ loaded: e.loaded, total: e.lengthComputable ? e.total : 0 }));
      xhr.addEventListener("load", () => resolve({ status: xhr.status, text: xhr.responseText, contentType: xhr.getResponseHeader("content-type") ?? "" }));
      // The server may refuse a too-large file before it has read it all and close the connection.
      xhr.addEventListener("error", () => reject(new ApiError(0, "The upload stopped: the connection closed before the server answered. If the file is large, it may be over the size limit.")));
      xhr.addEventListener("abort", () => reject(new DOMException("The upload was cancelled.", "AbortError")));
      signal?.addEventListener("abort", () => xhr.abort(), { once: true });
      xhr.send(form);
    });
  return withSession(send).then(({ status, text, contentType }) => {
    if (status < 200 || status >= 300) throw errorFromBody(status, text, contentType);
    return JSON.parse(text) as T;
  });
}

// ── the contract's calls ──────────────────────────────────────────────────────────────────────

const enc = encodeURIComponent;

export const api = {
  register: (body: { username: string; email: string; password: string; password2: string }) => request("/api/accounts/register/", { method: "POST", json: body, anonymous: true }),
  login: (username: string, password: string) => requestJson<Tokens>("/api/accounts/login/", { method: "POST", json: { username, password }, anonymous: true }),
  logout: (refresh: string) => request("/api/accounts/logout/", { method: "POST", json: { refresh } }),

  listFiles: async (signal?: AbortSignal) => (await requestJson<{ files: SavedFile[] }>("/api/list_cutter/list_saved_files/", { signal })).files,
  fetchFile: (fileId: string, signal?: AbortSignal) => requestJson<FileContents>(`/api/list_cutter/fetch_saved_file/?file_id=${enc(fileId)}`, { signal }),
  download: async (fileName: string) => (await request(`/api/list_cutter/download/${enc(fileName)}/`)).blob(),
  deleteFile: (id: number) => request(`/api/list_cutter/delete/${id}/`, { method: "DELETE" }),
  addTags: (id: number, tags: string[]) => request(`/api/list_cutter/update_tags/${id}/`, { method: "PATCH", json: { user_tags: tags } }),
  upload: (file: File, onProgress: (p: UploadProgress) => void, signal?: AbortSignal) => {
    const form = new FormData();
    // The name as a field too: a multipart header cannot carry every character of a file name.
    form.append("filename", file.name);
    form.append("file", file, file.name);
    return uploadForm<{ message: string; file_id: string }>("/api/list_cutter/upload/", form, onProgress, signal);
  },
  /** The cut as a streamed response (the caller reads or stores it). */
  cut: (body: CutRequest, signal?: AbortSignal) => request("/api/list_cutter/export_csv/", { method: "POST", json: body, signal }),
  saveGenerated: (csv: Blob, fileName: string, originalFileId: string, metadata: Record<string, unknown>) => {
    const form = new FormData();
    form.append("filename", fileName);
    form.append("original_file_id", originalFileId);
    form.append("metadata", JSON.stringify(metadata));
    form.append("file", new File([csv], fileName, { type: "text/csv" }));
    return requestJson<{ message: string; file_id: string; file_path: string }>("/api/list_cutter/save_generated_file/", { method: "POST", body: form });
  },

  listFilters: async (signal?: AbortSignal) => (await requestJson<{ filters: SavedFilter[] }>("/api/list_cutter/filters/", { signal })).filters,
  getFilter: (id: string, signal?: AbortSignal) => requestJson<SavedFilter>(`/api/list_cutter/filters/${enc(id)}/`, { signal }),
  createFilter: (body: { name: string; description: string; file_id: string | null; filter_config: Record<string, unknown> }) => requestJson<SavedFilter>("/api/list_cutter/filters/", { method: "POST", json: body }),
  renameFilter: (id: number, name: string) => requestJson<SavedFilter>(`/api/list_cutter/filters/${id}/`, { method: "PATCH", json: { name } }),
  deleteFilter: (id: number) => request(`/api/list_cutter/filters/${id}/`, { method: "DELETE" }),
};
