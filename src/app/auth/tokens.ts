import type { Env } from "../../env";
import { signJwt, verifyJwt } from "../../lib/jwt";

/** Lifetimes as simplejwt's defaults: 5 minutes for access, 1 day for refresh. */
export const ACCESS_SECONDS = 5 * 60;
export const REFRESH_SECONDS = 24 * 60 * 60;

export type TokenType = "access" | "refresh";

export interface TokenClaims {
  token_type: TokenType;
  user_id: number;
  jti: string;
  exp: number;
  iat: number;
}

export async function issueToken(env: Env, userId: number, type: TokenType): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: TokenClaims = { token_type: type, user_id: userId, jti: crypto.randomUUID().replace(/-/g, ""), iat: now, exp: now + (type === "access" ? ACCESS_SECONDS : REFRESH_SECONDS) };
  return signJwt({ ...claims }, env.JWT_SECRET);
}

/**
 * Claims of a valid token of `type`: signed by us, or by the legacy Django SECRET_KEY (simplejwt),
 * accepted until it expires so that nobody is logged out by the cutover. Revoked refresh tokens fail.
 */
export async function readToken(env: Env, token: string, type: TokenType): Promise<TokenClaims | null> {
  for (const secret of [env.JWT_SECRET, env.LEGACY_JWT_SECRET]) {
    if (!secret) continue;
    const payload = await verifyJwt(token, secret);
    if (!payload) continue;
    const userId = typeof payload.user_id === "string" && /^\d+$/.test(payload.user_id) ? Number(payload.user_id) : payload.user_id;
    if (payload.token_type !== type || typeof userId !== "number" || !Number.isSafeInteger(userId) || typeof payload.exp !== "number") return null;
    const claims = { token_type: type, user_id: userId, jti: String(payload.jti ?? ""), exp: payload.exp, iat: Number(payload.iat ?? 0) };
    if (type === "refresh" && claims.jti && (await env.AUTH_TOKENS.get(revokedKey(claims.jti))) !== null) return null;
    return claims;
  }
  return null;
}

/** Revokes a refresh token until it would have expired anyway. */
export async function revoke(env: Env, claims: TokenClaims): Promise<void> {
  const ttl = Math.max(60, claims.exp - Math.floor(Date.now() / 1000));
  await env.AUTH_TOKENS.put(revokedKey(claims.jti), "1", { expirationTtl: ttl });
}

function revokedKey(jti: string): string {
  return `revoked:${jti}`;
}
