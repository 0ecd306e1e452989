import { z } from "zod";
import { legacyLifetime, legacyTokenCutoff } from "../app/auth/tokens";
import type { Env } from "../env";
import { toHex } from "../lib/hex";
import { signJwt } from "../lib/jwt";
import { describeAnswer, type AppClient } from "./app-client";
import { count, runCheck, type CheckOutcome } from "./check";
import type { CheckResult } from "./report";

/** The canary account a run registers (and leaves: see README "Validation suite"). */
export interface Canary {
  id: number;
  username: string;
}

const tokenPair = z.object({ refresh: z.string().min(1), access: z.string().min(1) });
const refreshed = z.object({ access: z.string().min(1) });
const currentUser = z.object({ id: z.number(), username: z.string() });

/** authentication: a canary account registers, logs in, refreshes; sampled migrated users' legacy tokens are accepted. */
export async function authenticationChecks(env: Env, client: AppClient, sample: number): Promise<{ checks: CheckResult[]; canary: Canary | null }> {
  let canary: Canary | null = null;
  const account = await runCheck("authentication", "canary-account", async () => {
    const outcome = await canaryAccount(client);
    canary = outcome.canary ?? null;
    return outcome.result;
  });
  const legacy = await runCheck("authentication", "legacy-tokens", () => legacyTokens(env, client, sample));
  return { checks: [account, legacy], canary };
}

/** `lc-validate-<yyyymmddhhmmss>-<4 hex>`: unique per run, and recognisable as the suite's. */
export function canaryUsername(now = new Date()): string {
  const stamp = now.toISOString().replace(/\D/g, "").slice(0, 14);
  return `lc-validate-${stamp}-${toHex(crypto.getRandomValues(new Uint8Array(2)))}`;
}

async function canaryAccount(client: AppClient): Promise<{ result: CheckOutcome; canary?: Canary }> {
  const username = canaryUsername();
  const password = `Canary-${toHex(crypto.getRandomValues(new Uint8Array(18)))}`;
  const failed = (step: string, answer: { status: number; body: unknown }) => ({ result: { ok: false, detail: `${step} failed for ${username}: ${describeAnswer(answer)}` } });

  const registered = await client.json("/api/accounts/register/", { username, email: "", password, password2: password });
  if (registered.status !== 201) return failed("register/", registered);
  const login = await client.json("/api/accounts/login/", { username, password });
  const tokens = tokenPair.safeParse(login.body);
  if (login.status !== 200 || !tokens.success) return failed("login/", login);
  const refresh = await client.json("/api/accounts/token/refresh/", { refresh: tokens.data.refresh });
  const access = refreshed.safeParse(refresh.body);
  if (refresh.status !== 200 || !access.success) return failed("token/refresh/", refresh);
  const me = await client.get("/api/accounts/user/", access.data.access);
  const user = currentUser.safeParse(me.body);
  if (me.status !== 200 || !user.success || user.data.username !== username) return failed("user/ with the refreshed access token", me);
  return {
    result: { detail: `registered ${username} (user ${user.data.id}); login/, token/refresh/ and user/ (with the refreshed access token) answered as expected` },
    canary: { id: user.data.id, username },
  };
}

async function legacyTokens(env: Env, client: AppClient, sample: number): Promise<CheckOutcome> {
  const secret = env.LEGACY_JWT_SECRET;
  if (!secret) return { ok: false, detail: "LEGACY_JWT_SECRET is not set: the new app accepts no legacy token, so every migrated user would be logged out by the switch" };
  const lifetime = legacyLifetime(env, "access");
  if ("problem" in lifetime) return { ok: false, detail: `${lifetime.problem}: the new app refuses every legacy token` };
  // Inactive users are refused whatever their token: they are not what this check is about.
  const users = await env.DB.prepare(`SELECT id FROM users WHERE legacy_id IS NOT NULL AND is_active = 1 ORDER BY random() LIMIT ?`).bind(sample).all<{ id: number }>();
  if (users.results.length === 0) return { ok: false, detail: "no active migrated user in D1 to sample: nothing is migrated yet" };
  const failures: string[] = [];
  for (const { id } of users.results) {
    const me = await client.get("/api/accounts/user/", await legacyAccessToken(env, secret, id, lifetime.seconds));
    const user = currentUser.safeParse(me.body);
    if (me.status !== 200 || !user.success) failures.push(`user ${id}: ${describeAnswer(me)}`);
    else if (user.data.id !== id) failures.push(`user ${id}: the app answered as user ${user.data.id}`);
  }
  const n = users.results.length;
  return { detail: `${n - failures.length} of ${count(n, "sampled migrated user")}: a legacy simplejwt access token (signed with LEGACY_JWT_SECRET) is accepted by user/ as that user`, failures };
}

/**
 * An access token as the legacy Django's simplejwt issues one: HS256 with its SECRET_KEY, its
 * claims in its order, `jti` a uuid4 hex, `user_id` the integer primary key. Past
 * LEGACY_TOKEN_CUTOFF the app only accepts tokens issued before it: the newest legacy could still
 * have issued is a refresh of a login made just before it (simplejwt copies the login's `iat`).
 */
export async function legacyAccessToken(env: Env, secret: string, userId: number, lifetimeSeconds: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const cutoff = legacyTokenCutoff(env);
  const iat = cutoff && cutoff.getTime() <= Date.now() ? Math.floor(cutoff.getTime() / 1000) - 1 : now;
  const jti = toHex(crypto.getRandomValues(new Uint8Array(16)));
  return signJwt({ token_type: "access", exp: now + lifetimeSeconds, iat, jti, user_id: userId }, secret);
}
