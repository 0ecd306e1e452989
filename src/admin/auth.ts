import type { Env } from "../env";
import { errorResponse } from "../lib/http";

const encoder = new TextEncoder();

/** itty middleware: a 401 unless `Authorization: Bearer <ADMIN_TOKEN>` matches (constant time). */
export async function requireAdmin(request: Request, env: Env): Promise<Response | undefined> {
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "")?.[1];
  if (!env.ADMIN_TOKEN) return errorResponse(503, "ADMIN_TOKEN is not configured; the operator API is closed");
  if (!presented || !(await tokensMatch(presented, env.ADMIN_TOKEN))) {
    return new Response(JSON.stringify({ error: "missing or invalid bearer token" }), {
      status: 401,
      headers: { "content-type": "application/json", "www-authenticate": 'Bearer realm="list-cutter-admin"' },
    });
  }
  return undefined;
}

/** Compares digests, so neither the length nor the content of the secret leaks through timing. */
async function tokensMatch(presented: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(presented), digest(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

async function digest(value: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", encoder.encode(value));
}

/** Who made an operator call: the admin token has no identity, so the client address stands in. */
export function operator(request: Request): string {
  return `admin@${request.headers.get("cf-connecting-ip") ?? "local"}`;
}
