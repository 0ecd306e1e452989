import type { IRequest } from "itty-router";
import { z } from "zod";
import type { Env } from "../env";

/**
 * The OpenAPI 3.1 document of the operator API, built from the route table the router is built
 * from (router.ts), with the zod schemas the handlers parse with: it cannot list a route the router
 * does not serve, nor miss one it does.
 */

export type AdminHandler = (request: IRequest, env: Env, ctx: ExecutionContext) => Response | Promise<Response>;
export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

/** A request body: JSON checked by a schema (optional: an empty body reads as `{}`), or raw bytes of a media type. */
export type RouteBody = { json: z.ZodType; optional?: boolean } | { raw: string };

export interface AdminRoute {
  method: HttpMethod;
  /** itty-router pattern under /admin; each `:name` must be a key of `params`. */
  path: string;
  handler: AdminHandler;
  summary: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: RouteBody;
  /** The success status (default 200). */
  status?: 200 | 201 | 202;
  /** Media types of the success answer (default JSON). */
  produces?: readonly string[];
}

const JSON_TYPE = "application/json";
const errorBody = z.object({ error: z.string(), field: z.string().optional().describe("the field, parameter or header at fault") });

type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema>; required?: string[]; description?: string };

/** JSON Schema 2020-12 (OpenAPI 3.1's dialect) of what a client sends: defaults make fields optional. */
function jsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input", unrepresentable: "any" });
  return rest as JsonSchema;
}

export function openApiPath(route: Pick<AdminRoute, "path">): string {
  return `/admin${route.path.replace(/:(\w+)/g, "{$1}")}`;
}

export function openApiDocument(routes: readonly AdminRoute[]) {
  const paths: Record<string, Partial<Record<HttpMethod, object>>> = {};
  for (const route of routes) {
    const operations = (paths[openApiPath(route)] ??= {});
    if (operations[route.method]) throw new Error(`${route.method.toUpperCase()} ${route.path} is in the route table twice`);
    operations[route.method] = operation(route);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "List Cutter operator API",
      version: "1",
      description: "The cutover engine's operator API (README.md, Operator API). Refusals answer {error, field} naming the field at fault.",
    },
    security: [{ adminToken: [] }],
    paths,
    components: {
      securitySchemes: { adminToken: { type: "http", scheme: "bearer", description: "The ADMIN_TOKEN secret" } },
      schemas: { Error: jsonSchema(errorBody) },
      responses: {
        Refusal: { description: "Refused: 400 names the field at fault, 401 without the admin token, 404 and 409 say why", content: { [JSON_TYPE]: { schema: { $ref: "#/components/schemas/Error" } } } },
      },
    },
  };
}

function operation(route: AdminRoute): object {
  const parameters = [...pathParameters(route), ...parametersOf(route.query, "query")];
  return {
    summary: route.summary,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body ? { requestBody: requestBody(route.body) } : {}),
    responses: {
      [String(route.status ?? 200)]: { description: "Done", content: Object.fromEntries((route.produces ?? [JSON_TYPE]).map((type) => [type, {}])) },
      "4XX": { $ref: "#/components/responses/Refusal" },
    },
  };
}

function pathParameters(route: AdminRoute): object[] {
  const inPath = [...route.path.matchAll(/:(\w+)/g)].map((m) => m[1]!).sort();
  const declared = Object.keys(route.params?.shape ?? {}).sort();
  if (inPath.join() !== declared.join()) throw new Error(`${route.path}: its params schema has [${declared}], the path [${inPath}]`);
  return parametersOf(route.params, "path");
}

function parametersOf(schema: z.ZodObject | undefined, where: "path" | "query"): object[] {
  if (!schema) return [];
  const { properties = {}, required = [] } = jsonSchema(schema);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: where,
    required: where === "path" || required.includes(name),
    schema: property,
  }));
}

function requestBody(body: RouteBody): object {
  if ("raw" in body) return { required: true, content: { [body.raw]: { schema: { type: "string" } } } };
  return { required: !body.optional, content: { [JSON_TYPE]: { schema: jsonSchema(body.json) } } };
}
