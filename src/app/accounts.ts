import type { IRequest } from "itty-router";
import { z } from "zod";
import type { Env } from "../env";
import { jsonResponse } from "../lib/http";
import { checkPassword, makePassword, passwordProblems, passwordWorkFactor } from "./auth/passwords";
import { limiterNames, loginSucceeded, takeAddressAttempt, takeLoginAttempt } from "./attempt-limits";
import { issueToken, readToken, revoke } from "./auth/tokens";
import { drf, readBody } from "./contract";
import { requireUser } from "./session";
import { FIRST_NEW_ID, SQL_NOW } from "../lib/d1";
import { recordRegistration } from "../sync/outbox";

const BLANK = "This field may not be blank.";
/** A required string of at most `max` characters (Django's field bounds; DRF's messages). */
const field = (max: number) => z.string().min(1, BLANK).max(max, `Ensure this field has no more than ${max} characters.`);
/** Django's User.username bound. */
const username = field(150);
/** Long enough for any passphrase; bounded so that nobody can post megabytes to hash. */
const password = field(4096);
/** Larger than any token we or simplejwt issue. */
const token = field(4096);

const registerBody = z.object({
  username: z.string().trim().pipe(username.regex(/^[\w.@+-]+$/, "Enter a valid username. Letters, digits and @/./+/-/_ only.")),
  email: z
    .string()
    .max(254, "Ensure this field has no more than 254 characters.")
    .refine((v) => v === "" || z.email().safeParse(v).success, "Enter a valid email address.")
    .default(""),
  password,
  password2: password,
});
const loginBody = z.object({ username, password });
const refreshBody = z.object({ refresh: token });

/** POST /api/accounts/register/ */
export async function register(request: IRequest, env: Env): Promise<Response> {
  const body = await readBody(request, registerBody);
  if (body.password !== body.password2) return drf(400, { non_field_errors: ["Passwords do not match"] });
  const problems = passwordProblems(body.password, body.username);
  if (problems.length > 0) return drf(400, { password: problems });
  // Each attempt costs a password hash, and its answer tells whether a username is taken: both
  // bounded per client address, before anything is looked up.
  const wait = await takeAddressAttempt(env, "register", request.headers.get("cf-connecting-ip"));
  if (wait !== null) return drf(429, { detail: "Too many registrations from this address. Try again later." }, { "retry-after": String(wait) });
  const taken = await env.DB.prepare(`SELECT 1 FROM users WHERE username = ?`).bind(body.username).first();
  if (taken) return drf(400, { username: ["A user with that username already exists."] });
  const hash = await makePassword(body.password, passwordWorkFactor(env));
  try {
    // The user and its outbox entry (reverse sync: legacy gets the user too) in one batch.
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO users (id, username, email, password_hash, date_joined)
         VALUES ((SELECT max(coalesce(max(id), 0), ?) + 1 FROM users), ?, ?, ?, ${SQL_NOW})`,
      ).bind(FIRST_NEW_ID, body.username, body.email, hash),
      recordRegistration(env.DB, body.username),
    ]);
  } catch (e) {
    if (/UNIQUE/.test(String(e))) return drf(400, { username: ["A user with that username already exists."] });
    throw e;
  }
  return drf(201, { detail: "User created successfully" });
}

/** POST /api/accounts/login/ — the same answer whether the user is unknown or the password wrong. */
export async function login(request: IRequest, env: Env): Promise<Response> {
  const { username, password } = await readBody(request, loginBody);
  const workFactor = passwordWorkFactor(env);
  const limiter = await limiterNames(username, request.headers.get("cf-connecting-ip"));
  const wait = await takeLoginAttempt(env, limiter);
  if (wait !== null) return drf(429, { detail: "Too many login attempts. Try again later." }, { "retry-after": String(wait) });
  const user = await env.DB.prepare(`SELECT id, password_hash, is_active FROM users WHERE username = ?`).bind(username).first<{ id: number; password_hash: string; is_active: number }>();
  const check = await checkPassword(password, user?.password_hash ?? null, workFactor);
  if (!user || !check.ok || user.is_active !== 1) return drf(401, { detail: "No active account found with the given credentials" });
  await loginSucceeded(env, limiter);
  // Neither the upward re-hash nor the last_login touch goes to the outbox: legacy's own values stay
  // valid (its hash verifies the same password; last_login merges as the later of the two sides').
  const upgrade = check.outdated ? env.DB.prepare(`UPDATE users SET password_hash = ?, updated_at = ${SQL_NOW} WHERE id = ?`).bind(await makePassword(password, workFactor), user.id) : null;
  const touch = env.DB.prepare(`UPDATE users SET last_login = ${SQL_NOW} WHERE id = ?`).bind(user.id);
  await env.DB.batch(upgrade ? [upgrade, touch] : [touch]);
  return jsonResponse({ refresh: await issueToken(env, user.id, "refresh"), access: await issueToken(env, user.id, "access") });
}

/** POST /api/accounts/token/refresh/ */
export async function refresh(request: IRequest, env: Env): Promise<Response> {
  const { refresh: token } = await readBody(request, refreshBody);
  const claims = await readToken(env, token, "refresh");
  if (!claims) return drf(401, { detail: "Token is invalid or expired", code: "token_not_valid" });
  return jsonResponse({ access: await issueToken(env, claims.user_id, "access") });
}

/** POST /api/accounts/logout/ — revokes the refresh token; access tokens lapse within minutes. */
export async function logout(request: IRequest, env: Env): Promise<Response> {
  const user = await requireUser(request, env);
  const { refresh: token } = await readBody(request, refreshBody);
  const claims = await readToken(env, token, "refresh");
  if (!claims || claims.user_id !== user.id) return drf(401, { detail: "Token is invalid or expired", code: "token_not_valid" });
  await revoke(env, claims);
  return new Response(null, { status: 205 });
}

/** GET /api/accounts/user/ */
export async function currentUser(request: IRequest, env: Env): Promise<Response> {
  const user = await requireUser(request, env);
  return jsonResponse({ id: user.id, username: user.username, email: user.email });
}
