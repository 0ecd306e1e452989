import { z } from "zod";
import { isolateCutoverCache } from "../../cutover/gate";
import type { Env } from "../../env";
import { signJwt, verifyJwt } from "../../lib/jwt";

/** Lifetimes as simplejwt's defaults: 5 minutes for access, 1 day for refresh. */
export const ACCESS_SECONDS = 5 * 60;
export const REFRESH_SECONDS = 24 * 60 * 60;
/** How far in the future an `iat` may lie: the legacy servers' clocks and ours differ a little. */
const CLOCK_SKEW_SECONDS = 60;

export type TokenType = "access" | "refresh";

const REQUIRED_CLAIMS = ["exp", "iat", "token_type", "user_id", "jti"] as const;

const tokenClaims = z.object({
  token_type: z.enum(["access", "refresh"]),
  // simplejwt writes the user id as Django's primary key: an integer, or a string of digits.
  user_id: z
    .union([z.number(), z.string().regex(/^\d{1,15}$/).transform(Number)])
    .pipe(z.number().int().positive().max(Number.MAX_SAFE_INTEGER)),
  // Printable ASCII and bounded, so that `revoked:<jti>` is always a valid KV key (512 bytes).
  jti: z.string().regex(/^[\x21-\x7e]{1,255}$/),
  exp: z.number(),
  iat: z.number(),
});

export type TokenClaims = z.output<typeof tokenClaims>;

const OUR_LIFETIMES: Record<TokenType, number> = { access: ACCESS_SECONDS, refresh: REFRESH_SECONDS };

/**
 * A new token of `type` for `userId`, in simplejwt's format. While legacy tokens are accepted (both
 * sides live: before the cutover completes and before LEGACY_TOKEN_CUTOFF), it is signed with the
 * legacy secret and the legacy lifetimes, so that the legacy site accepts it too and a user moved
 * back (a ramp step, an allowlist change, a rollback) stays logged in. After that, with our own.
 */
export async function issueToken(env: Env, userId: number, type: TokenType): Promise<string> {
  const { secret, lifetime } = signingKey(env, type);
  const now = Math.floor(Date.now() / 1000);
  const claims: TokenClaims = { token_type: type, user_id: userId, jti: crypto.randomUUID().replace(/-/g, ""), iat: now, exp: now + lifetime };
  return signJwt(claims, secret);
}

function signingKey(env: Env, type: TokenType): { secret: string; lifetime: number } {
  const own = { secret: env.JWT_SECRET, lifetime: OUR_LIFETIMES[type] };
  if (!env.LEGACY_JWT_SECRET) return own;
  // Both settings must be readable: readToken refuses every legacy-signed token otherwise.
  if (legacySettingProblems(env).length > 0) return own;
  const lifetime = legacyLifetime(env, type);
  if ("problem" in lifetime) return own;
  const cutoff = legacyTokenCutoff(env, cutoverCompletedAt(env));
  // A token issued in the cutoff's second would be refused at once (readToken).
  if (cutoff && Math.floor(Date.now() / 1000) >= Math.floor(cutoff.getTime() / 1000)) return own;
  return { secret: env.LEGACY_JWT_SECRET, lifetime: lifetime.seconds };
}

/**
 * Claims of a valid token of `type`. Ours (JWT_SECRET) are accepted within our lifetimes. Legacy
 * simplejwt tokens (LEGACY_JWT_SECRET) are accepted so that nobody is logged out by the cutover, but
 * only within the legacy site's lifetimes and if issued before `legacyCutoff` (by default from
 * LEGACY_TOKEN_CUTOFF; see legacyTokenCutoff). Revoked refresh tokens fail.
 */
export async function readToken(env: Env, token: string, type: TokenType, legacyCutoff?: Date | null): Promise<TokenClaims | null> {
  let claims = await verifiedClaims(token, env.JWT_SECRET);
  if (claims) {
    if (!withinLifetime(claims, OUR_LIFETIMES[claims.token_type])) return null;
  } else {
    claims = await verifiedClaims(token, env.LEGACY_JWT_SECRET);
    if (!claims || !withinLegacyLifetime(env, claims)) return null;
    const cutoff = legacyCutoff === undefined ? legacyTokenCutoff(env, cutoverCompletedAt(env)) : legacyCutoff;
    // iat has whole seconds: a token of the cutoff's own second is refused too.
    if (cutoff && claims.iat >= Math.floor(cutoff.getTime() / 1000)) return null;
  }
  if (claims.token_type !== type) return null;
  if (type === "refresh" && (await env.AUTH_TOKENS.get(revokedKey(claims.jti))) !== null) return null;
  return claims;
}

/**
 * The instant from which legacy tokens are refused: the earlier of LEGACY_TOKEN_CUTOFF and
 * `cutoverCompletedAt` (when the cutover finished, if it has), or null for no cutoff. A setting that
 * cannot be read refuses every legacy token rather than none.
 */
export function legacyTokenCutoff(env: Pick<Env, "LEGACY_TOKEN_CUTOFF">, cutoverCompletedAt: Date | null = null): Date | null {
  const setting = configuredCutoff(env);
  const configured = setting === null ? null : "problem" in setting ? new Date(0) : setting.at;
  const instants = [configured, cutoverCompletedAt].filter((d): d is Date => d !== null);
  return instants.length === 0 ? null : new Date(Math.min(...instants.map((d) => d.getTime())));
}

/** When the cutover completed, as this isolate's gate last read the state (legacy stops issuing tokens then). */
function cutoverCompletedAt(env: Env): Date | null {
  const { state } = isolateCutoverCache(env).peek();
  return state?.phase === "complete" ? new Date(state.updatedAt) : null;
}

/** Revokes a refresh token until it would have expired anyway. */
export async function revoke(env: Env, claims: TokenClaims): Promise<void> {
  const ttl = Math.max(60, claims.exp - Math.floor(Date.now() / 1000));
  await env.AUTH_TOKENS.put(revokedKey(claims.jti), "1", { expirationTtl: ttl });
}

async function verifiedClaims(token: string, secret: string | undefined): Promise<TokenClaims | null> {
  if (!secret) return null;
  const parsed = tokenClaims.safeParse(await verifyJwt(token, secret, REQUIRED_CLAIMS));
  return parsed.success ? parsed.data : null;
}

/** Not longer-lived than tokens of its type are issued for, and not issued in the future. */
function withinLifetime(claims: TokenClaims, lifetimeSeconds: number): boolean {
  return claims.exp - claims.iat <= lifetimeSeconds && claims.iat <= Date.now() / 1000 + CLOCK_SKEW_SECONDS;
}

/**
 * Within the legacy site's lifetimes. simplejwt's refresh view copies the refresh token's `iat` into
 * the access token it issues (RefreshToken.access_token copies every claim but token_type, exp and
 * jti), so a refreshed legacy access token may span a refresh lifetime plus an access lifetime; what
 * it may not have is more than an access lifetime still to run.
 */
function withinLegacyLifetime(env: Env, claims: TokenClaims): boolean {
  const access = legacyLifetime(env, "access");
  const refresh = legacyLifetime(env, "refresh");
  if ("problem" in access || "problem" in refresh) return false;
  if (claims.token_type === "refresh") return withinLifetime(claims, refresh.seconds);
  const now = Date.now() / 1000;
  return claims.iat <= now + CLOCK_SKEW_SECONDS && claims.exp - now <= access.seconds + CLOCK_SKEW_SECONDS && claims.exp - claims.iat <= refresh.seconds + access.seconds;
}

const LEGACY_LIFETIMES = {
  access: { setting: "LEGACY_ACCESS_TOKEN_SECONDS", fallback: 300 },
  refresh: { setting: "LEGACY_REFRESH_TOKEN_SECONDS", fallback: 86_400 },
} as const;

const secondsSetting = z
  .string()
  .regex(/^\d{1,9}$/)
  .transform(Number)
  .pipe(z.number().int().positive());

type Setting<T> = T | { problem: string };

/** The legacy site's simplejwt lifetime for `type`, or what is wrong with its setting (its tokens are then refused). */
export function legacyLifetime(env: Env, type: TokenType): Setting<{ seconds: number }> {
  const { setting, fallback } = LEGACY_LIFETIMES[type];
  const value = env[setting];
  if (value === undefined) return { seconds: fallback };
  const parsed = secondsSetting.safeParse(value);
  return parsed.success ? { seconds: parsed.data } : { problem: `${setting} is not a whole number of seconds` };
}

const instantSetting = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);

/** LEGACY_TOKEN_CUTOFF if set (null if not), or what is wrong with it (every legacy token is then refused). */
function configuredCutoff(env: Pick<Env, "LEGACY_TOKEN_CUTOFF">): Setting<{ at: Date }> | null {
  const value = env.LEGACY_TOKEN_CUTOFF;
  if (value === undefined) return null;
  return instantSetting.safeParse(value).success ? { at: new Date(value) } : { problem: "LEGACY_TOKEN_CUTOFF is not an ISO 8601 instant" };
}

/** What is wrong with the legacy token settings, for /health (config-check.ts). */
export function legacySettingProblems(env: Env): string[] {
  return [legacyLifetime(env, "access"), legacyLifetime(env, "refresh"), configuredCutoff(env)].flatMap((s) => (s && "problem" in s ? [s.problem] : []));
}

function revokedKey(jti: string): string {
  return `revoked:${jti}`;
}
