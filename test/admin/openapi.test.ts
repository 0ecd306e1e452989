// GET /admin/openapi.json: a valid OpenAPI 3.1 document listing exactly the routes the router
// serves, whose request body schemas judge a body as the handlers' zod schemas do.
import { Validator } from "@seriousme/openapi-schema-validator";
import oas31 from "@seriousme/openapi-schema-validator/schemas/v3.1/schema.json";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { describe, expect, it } from "vitest";
import { ADMIN_ROUTES, adminRouter } from "../../src/admin/router";
import { adminJson, worker } from "../helpers";

// ajv-formats is CommonJS: its function is the default export's default.
const addFormats = (addFormatsModule as unknown as { default: typeof addFormatsModule }).default;

function ajv(): Ajv2020 {
  const instance = new Ajv2020({ strict: false });
  addFormats(instance);
  return instance;
}

/**
 * The package reads its OpenAPI meta-schemas from node_modules with node:fs, which workerd cannot
 * see: the 3.1 one is bundled instead, compiled as the package's getAjvValidator compiles it.
 */
class OpenApi31Validator extends Validator {
  getAjvValidator(version: string) {
    if (version !== "3.1") throw new Error(`only OpenAPI 3.1 is bundled, not ${version}`);
    const instance = ajv();
    instance.addFormat("media-range", true);
    return instance.compile(oas31);
  }
}

async function openApi(): Promise<any> {
  const { status, body } = await adminJson("/admin/openapi.json");
  expect(status).toBe(200);
  return body;
}

/** An itty-router path as OpenAPI writes it: `:id` → `{id}`. */
const templated = (path: string) => path.replace(/:(\w+)/g, "{$1}");
/** METHOD /admin/path/{param}, from a router entry or a document operation. */
const key = (method: string, path: string) => `${method.toUpperCase()} ${templated(path)}`;

/** Every Schema Object of the document: request bodies, parameters, components. */
function schemasOf(document: any): object[] {
  const operations = Object.values(document.paths as Record<string, Record<string, any>>).flatMap((byMethod) => Object.values(byMethod));
  return [
    ...operations.flatMap((op) => Object.values(op.requestBody?.content ?? {}).map((media: any) => media.schema)),
    ...operations.flatMap((op) => (op.parameters ?? []).map((p: any) => p.schema)),
    ...Object.values(document.components.schemas as Record<string, object>),
  ];
}

describe("GET /admin/openapi.json", () => {
  it("is behind the admin token, like every operator route", async () => {
    const res = await worker("/admin/openapi.json");
    expect(res.status).toBe(401);
    await res.arrayBuffer();
  });

  it("is a valid OpenAPI 3.1 document", async () => {
    const document = await openApi();
    expect(document.openapi).toBe("3.1.0");
    const result = await new OpenApi31Validator().validate(document);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    // The package checks the document's structure, not its Schema Objects: each must be valid JSON Schema 2020-12.
    const schemas = schemasOf(document);
    expect(schemas.length).toBeGreaterThan(30);
    for (const schema of schemas) expect(() => ajv().compile(schema), JSON.stringify(schema)).not.toThrow();
    // The validator is not a rubber stamp.
    expect((await new OpenApi31Validator().validate({ ...document, paths: { "/admin/x": { get: { responses: "none" } } } })).valid).toBe(false);
  });

  it("lists every route the router serves, and no other", async () => {
    const document = await openApi();
    const served = adminRouter.routes.filter(([method]) => method !== "ALL").map(([method, , , path]) => key(method, path!));
    const documented = Object.entries(document.paths as Record<string, object>).flatMap(([path, operations]) => Object.keys(operations).map((method) => key(method, path)));
    expect(new Set(served).size).toBe(served.length);
    expect(documented.sort()).toEqual(served.sort());
    expect(served).toContain("GET /admin/openapi.json");
    expect(served).toContain("GET /admin/metrics");
    expect(served.length).toBe(ADMIN_ROUTES.length);
  });

  it("documents path and query parameters with the handlers' schemas", async () => {
    const document = await openApi();
    const metrics = document.paths["/admin/metrics"].get;
    expect(metrics.parameters).toEqual([
      { name: "format", in: "query", required: false, schema: { type: "string", enum: ["json", "prometheus"], default: "json" } },
      { name: "window", in: "query", required: false, schema: { type: "integer", minimum: 10, maximum: 3600 } },
    ]);
    expect(Object.keys(metrics.responses["200"].content)).toEqual(["application/json", "application/openmetrics-text; version=1.0.0; charset=utf-8"]);
    const control = document.paths["/admin/jobs/{id}/{action}"].post;
    expect(control.parameters.map((p: any) => [p.name, p.in, p.required])).toEqual([
      ["id", "path", true],
      ["action", "path", true],
    ]);
    expect(control.parameters[1].schema.enum).toEqual(["pause", "resume", "cancel", "retry-failed"]);
    expect(document.paths["/admin/exports/{set}/{table}"].put.requestBody.content).toHaveProperty("text/csv");
    expect(document.paths["/admin/cutover/rollback"].post.requestBody.required).toBe(false);
  });

  it("has request body schemas that accept and refuse what the zod schemas do", async () => {
    const document = await openApi();
    const samples: [method: string, path: string, body: unknown][] = [
      ["patch", "/cutover", { percent: 5 }],
      ["patch", "/cutover", { percent: 101 }],
      ["patch", "/cutover", { percent: 10, colour: "red" }],
      ["patch", "/cutover", { maintenance: { enabled: true, message: "Final sync" } }],
      ["patch", "/cutover", { maintenance: true }],
      ["patch", "/cutover", { plan: null, holdBack: null }],
      ["patch", "/cutover", { allowlist: { new: { ips: ["203.0.113.9", "not an address"] } } }],
      ["post", "/jobs", { kind: "full", exportSet: "2026-11", settings: { batchSize: 20 } }],
      ["post", "/jobs", { kind: "sideways", exportSet: "2026-11" }],
      ["post", "/jobs", { kind: "full", exportSet: "../etc" }],
      ["post", "/jobs", { kind: "verify", exportSet: "2026-11", settings: { batchSize: 51 } }],
      ["post", "/conflicts/:id/resolve", { action: "rename-new", username: "bob_new" }],
      ["post", "/conflicts/:id/resolve", { action: "rename-new", username: "bob new" }],
    ];
    const verdicts = samples.map(([method, path, body]) => {
      const route = ADMIN_ROUTES.find((r) => r.method === method && r.path === path)!;
      if (!route.body || !("json" in route.body)) throw new Error(`${method} ${path} takes no JSON body`);
      const schema = document.paths[templated(`/admin${path}`)][method].requestBody.content["application/json"].schema;
      return { body, zod: route.body.json.safeParse(body).success, jsonSchema: ajv().validate(schema, body) };
    });
    for (const verdict of verdicts) expect(verdict.jsonSchema, JSON.stringify(verdict.body)).toBe(verdict.zod);
    // Both verdicts occur: the samples tell something.
    expect(new Set(verdicts.map((v) => v.zod))).toEqual(new Set([true, false]));
  });
});
