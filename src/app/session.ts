import type { Env } from "../env";
import { HttpError } from "../lib/http";
import { readToken } from "./auth/tokens";

export interface SessionUser {
  id: number;
  username: string;
  email: string;
}

/** The user a request's bearer access token belongs to (ours or a legacy simplejwt one), or null. */
export async function optionalUser(request: Request, env: Env): Promise<SessionUser | null> {
  const header = request.headers.get("authorization");
  if (!header) return null;
  const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  const claims = token ? await readToken(env, token, "access") : null;
  if (!claims) throw new HttpError(401, "Given token not valid for any token type");
  const user = await env.DB.prepare(`SELECT id, username, email FROM users WHERE id = ? AND is_active = 1`).bind(claims.user_id).first<SessionUser>();
  if (!user) throw new HttpError(401, "User not found");
  return user;
}

/** As optionalUser, but a request without credentials is a 401. */
export async function requireUser(request: Request, env: Env): Promise<SessionUser> {
  const user = await optionalUser(request, env);
  if (!user) throw new HttpError(401, "Authentication credentials were not provided.");
  return user;
}
