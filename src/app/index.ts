import { Router, type IRequest } from "itty-router";
import { configProblems } from "../config-check";
import type { Env } from "../env";
import { CsvRecordTooLargeError } from "../lib/csv";
import { HttpError, jsonResponse } from "../lib/http";
import { currentUser, login, logout, refresh, register } from "./accounts";
import { FieldErrors } from "./contract";
import { isPagePath, page } from "./pages";
import { csvCutter, exportCsv } from "./cut";
import { deleteFile, download, fetchSavedFile, listSavedFiles, saveGeneratedFile, updateTags, upload } from "./files";
import { createFilter, deleteFilter, getFilter, listFilters, updateFilter } from "./saved-filters";

type Args = [Env, ExecutionContext];

/** The List Cutter API, on the legacy Django paths. */
const router = Router<IRequest, Args>({ base: "/api" })
  .post("/accounts/register/", register)
  .post("/accounts/login/", login)
  .post("/accounts/token/refresh/", refresh)
  .post("/accounts/logout/", logout)
  .get("/accounts/user/", currentUser)
  .post("/list_cutter/csv_cutter/", csvCutter)
  .post("/list_cutter/export_csv/", exportCsv)
  .post("/list_cutter/upload/", upload)
  .get("/list_cutter/list_saved_files/", listSavedFiles)
  .get("/list_cutter/download/:filename/", download)
  .delete("/list_cutter/delete/:id/", deleteFile)
  .post("/list_cutter/save_generated_file/", saveGeneratedFile)
  .patch("/list_cutter/update_tags/:id/", updateTags)
  .get("/list_cutter/fetch_saved_file/", fetchSavedFile)
  .get("/list_cutter/filters/", listFilters)
  .post("/list_cutter/filters/", createFilter)
  .get("/list_cutter/filters/:id/", getFilter)
  .patch("/list_cutter/filters/:id/", updateFilter)
  .delete("/list_cutter/filters/:id/", deleteFilter)
  .all("*", () => jsonResponse({ detail: "Not found." }, 404));

/**
 * The new List Cutter app behind the gate. Errors take the legacy shapes: DRF field errors and
 * `{detail}` for accounts, `{error}` for list_cutter.
 */
export async function app(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const { blocking } = configProblems(env);
  if (blocking.length > 0) {
    console.error(`the new app is misconfigured: ${blocking.join("; ")}`);
    return jsonResponse({ detail: "The service is misconfigured and cannot serve this request. Please try again later." }, 503, { "retry-after": "300" });
  }
  const { pathname } = new URL(request.url);
  if (isPagePath(pathname)) return page(request, env);
  try {
    return (await router.fetch(request, env, ctx)) ?? jsonResponse({ detail: "Not found." }, 404);
  } catch (e) {
    if (e instanceof FieldErrors) return jsonResponse(e.errors, 400);
    // A stored file (a legacy one, say) with a row too long to read safely: the file's fault, not ours.
    if (e instanceof CsvRecordTooLargeError) return jsonResponse({ error: `A row of the file is longer than ${e.limitText}.` }, 422);
    if (e instanceof HttpError) {
      const accounts = new URL(request.url).pathname.startsWith("/api/accounts/") || e.status === 401;
      return jsonResponse(accounts ? { detail: e.message } : { error: e.message }, e.status, e.status === 401 ? { "www-authenticate": 'Bearer realm="api"' } : {});
    }
    throw e;
  }
}
