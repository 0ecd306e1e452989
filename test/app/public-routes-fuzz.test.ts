import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { afterCacheTtl, api, newUser, patchCutover, worker } from "../helpers";

/** Every route of the public API: method, path ({} is its parameter), and the body fields it reads. */
const ROUTES: [string, string, string[]][] = [
  ["POST", "/api/accounts/register/", ["username", "email", "password", "password2"]],
  ["POST", "/api/accounts/login/", ["username", "password"]],
  ["POST", "/api/accounts/token/refresh/", ["refresh"]],
  ["POST", "/api/accounts/logout/", ["refresh"]],
  ["GET", "/api/accounts/user/", []],
  ["POST", "/api/list_cutter/csv_cutter/", []],
  ["POST", "/api/list_cutter/export_csv/", ["columns", "file_path", "filters"]],
  ["POST", "/api/list_cutter/upload/", []],
  ["GET", "/api/list_cutter/list_saved_files/", []],
  ["GET", "/api/list_cutter/download/{}/", []],
  ["DELETE", "/api/list_cutter/delete/{}/", []],
  ["POST", "/api/list_cutter/save_generated_file/", []],
  ["PATCH", "/api/list_cutter/update_tags/{}/", ["user_tags"]],
  ["GET", "/api/list_cutter/fetch_saved_file/?file_id={}", []],
  ["GET", "/api/list_cutter/filters/", []],
  ["POST", "/api/list_cutter/filters/", ["name", "description", "file_id", "filter_config"]],
  ["GET", "/api/list_cutter/filters/{}/", []],
  ["PATCH", "/api/list_cutter/filters/{}/", ["name", "description", "file_id", "filter_config"]],
  ["DELETE", "/api/list_cutter/filters/{}/", []],
];

/** Lone surrogates cannot be put in a URL at all: a client could only send their replacement. */
const wellFormed = (text: string) => text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");

const hostileText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.constantFrom("", " ", "%", "%E0%A4%A", "..", "../../etc/passwd", "\u0000", "'; DROP TABLE users;--", "=cmd|' /C calc'!A0", "BETWEEN 1 AND", "IN (", "1e999", "-0", "\uD800"),
  { arbitrary: fc.tuple(fc.nat(1_000), fc.constantFrom("a", "é", "漢", " ", "9")).map(([n, c]) => c.repeat(n * 10)), weight: 3 },
);
const jsonValue = fc.oneof({ arbitrary: hostileText, weight: 8 }, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(hostileText, { maxLength: 5 }), fc.dictionary(hostileText, hostileText, { maxKeys: 5 }));
/** A body for a route reading `fields`: mostly JSON objects of those fields with hostile values. */
const bodyFor = (fields: string[]) =>
  fc.oneof(
    fc.constant(undefined),
    fc.uint8Array({ maxLength: 500 }),
    { arbitrary: fc.record(Object.fromEntries(fields.map((f) => [f, jsonValue]))).map((o) => JSON.stringify(o)), weight: 4 },
    fc.json(),
    fc.tuple(fc.string({ maxLength: 20 }), fc.uint8Array({ maxLength: 300 }), fc.dictionary(fc.constantFrom("filename", "original_file_id", "metadata"), hostileText)).map(([name, bytes, extra]) => {
      const form = new FormData();
      for (const [k, v] of Object.entries(extra)) form.append(k, v);
      form.append("file", new Blob([bytes]), `${name}.csv`);
      return form;
    }),
  );
const routeAndBody = fc.constantFrom(...ROUTES).chain(([method, template, fields]) => fc.tuple(fc.constant([method, template] as const), bodyFor(fields)));
const header = fc.oneof(fc.constant(undefined), hostileText.map((t) => t.replace(/[\r\n\u0000]/g, "").replace(/[^\x20-\x7e]/g, "?")));

describe("every public route, fed hostile input", () => {
  it("never answers 5xx: bodies, headers, parameters, tokens and cookies are checked and refused as 4xx", async () => {
    const user = await newUser("fuzz-victim");
    await fc.assert(
      fc.asyncProperty(
        routeAndBody,
        fc.constantFrom("GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS", "HEAD"),
        hostileText,
        fc.oneof(fc.constant("valid"), fc.constant("none"), header.map((h) => `Bearer ${h ?? ""}`), header),
        header,
        header,
        async ([[method, template], payload], otherMethod, param, auth, cookie, contentType) => {
          const path = template.replace("{}", encodeURIComponent(wellFormed(param)));
          const headers = new Headers();
          if (auth === "valid") headers.set("authorization", `Bearer ${user.access}`);
          else if (auth && auth !== "none") headers.set("authorization", auth);
          if (cookie) headers.set("cookie", cookie);
          if (contentType) headers.set("content-type", contentType);
          const useMethod = payload === undefined ? method : method === "GET" ? otherMethod : method;
          const noBody = useMethod === "GET" || useMethod === "HEAD";
          const res = await api(path, { method: useMethod, headers, body: noBody ? undefined : payload });
          await res.arrayBuffer().catch(() => {});
          expect(res.status, `${useMethod} ${path}`).toBeLessThan(500);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("never answers 5xx through the gate for hostile paths and headers, whichever side serves them", async () => {
    await patchCutover({ percent: 100 });
    await afterCacheTtl();
    // The web app's page for app paths; a missing file is a 404, not the page.
    for (const [path, status] of [["/", 200], ["/files/x/cut", 200], ["/favicon.ico", 404], ["/static/app.js", 404]] as const) {
      const res = await worker(path, { method: path === "/" ? "HEAD" : "GET" });
      expect(res.status, path).toBe(status);
      expect(res.headers.get("x-served-by")).toBe("workers");
    }
    for (const percent of [100, 0]) {
      await patchCutover({ percent });
      await afterCacheTtl();
      await fc.assert(
        fc.asyncProperty(hostileText, header, header, async (path, cookie, auth) => {
          const headers = new Headers();
          if (cookie) headers.set("cookie", cookie);
          if (auth) headers.set("authorization", auth);
          const res = await worker(`/${encodeURI(wellFormed(path)).replace(/^\/+/, "")}`, { headers });
          await res.arrayBuffer();
          expect(res.status).toBeLessThan(500);
        }),
        { numRuns: 120 },
      );
    }
  });
});
