import { env } from "cloudflare:workers";
import fc from "fast-check";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { issueToken, legacyTokenCutoff, readToken } from "../../../src/app/auth/tokens";
import { signJwt, unverifiedJwtPayload } from "../../../src/lib/jwt";
import { TEST_JWT_SECRET, TEST_LEGACY_JWT_SECRET } from "../../config";
import type { Env } from "../../../src/env";
import { api, apiJson, newUser } from "../../helpers";

const now = () => Math.floor(Date.now() / 1000);
const YEAR = 365 * 24 * 60 * 60;
const claims = (userId: number, over: Record<string, unknown> = {}) => ({ token_type: "access", user_id: userId, jti: crypto.randomUUID().replace(/-/g, ""), iat: now(), exp: now() + 300, ...over });
const b64url = (text: string | Uint8Array) => btoa(typeof text === "string" ? text : String.fromCharCode(...text)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

async function accepted(token: string): Promise<boolean> {
  const res = await api("/api/accounts/user/", { token });
  if (res.status === 401) expect(await res.json()).toEqual({ detail: "Given token not valid for any token type" });
  else expect(res.status).toBe(200);
  return res.status === 200;
}

/** A token with any header, signed HMAC-SHA256 with `secret` whatever the header says. */
async function withHeader(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string): Promise<string> {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return `${input}.${b64url(new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input))))}`;
}

describe("legacy (simplejwt) tokens", () => {
  it("are refused when they claim a lifetime longer than the legacy site's", async () => {
    const { id } = await newUser("lifetime-user");
    expect(await accepted(await signJwt(claims(id), TEST_LEGACY_JWT_SECRET))).toBe(true);
    expect(await accepted(await signJwt(claims(id, { exp: now() + 100 * YEAR }), TEST_LEGACY_JWT_SECRET))).toBe(false);
    // More than an access lifetime (plus a minute of clock skew) still to run.
    expect(await accepted(await signJwt(claims(id, { exp: now() + 361 }), TEST_LEGACY_JWT_SECRET))).toBe(false);
    // simplejwt's refresh copies the refresh token's iat into the access token: an hour-old login, refreshed now.
    expect(await accepted(await signJwt(claims(id, { iat: now() - 3600, exp: now() + 300 }), TEST_LEGACY_JWT_SECRET))).toBe(true);
    // ... but never older than a refresh token can be.
    expect(await accepted(await signJwt(claims(id, { iat: now() - 86_400 - 301, exp: now() + 300 }), TEST_LEGACY_JWT_SECRET))).toBe(false);
    // A day for refresh tokens.
    const refresh = (lifetime: number) => signJwt(claims(id, { token_type: "refresh", exp: now() + lifetime }), TEST_LEGACY_JWT_SECRET);
    expect((await apiJson("/api/accounts/token/refresh/", { refresh: await refresh(86_400) })).status).toBe(200);
    expect(await apiJson("/api/accounts/token/refresh/", { refresh: await refresh(100 * YEAR) })).toEqual({ status: 401, body: { detail: "Token is invalid or expired", code: "token_not_valid" } });
  });

  it("are refused without iat, or with iat in the future beyond a minute of clock skew", async () => {
    const { id } = await newUser("iat-user");
    const { iat: _, ...noIat } = claims(id);
    expect(await accepted(await signJwt(noIat, TEST_LEGACY_JWT_SECRET))).toBe(false);
    expect(await accepted(await signJwt(noIat, TEST_JWT_SECRET))).toBe(false);
    expect(await accepted(await signJwt(claims(id, { iat: now() + 30, exp: now() + 330 }), TEST_LEGACY_JWT_SECRET))).toBe(true);
    expect(await accepted(await signJwt(claims(id, { iat: now() + 3600, exp: now() + 3900 }), TEST_LEGACY_JWT_SECRET))).toBe(false);
    expect(await accepted(await signJwt(claims(id, { iat: "yesterday" }), TEST_LEGACY_JWT_SECRET))).toBe(false);
  });

  it("are refused when issued at or after LEGACY_TOKEN_CUTOFF, accepted before it within their lifetime", async () => {
    const { id } = await newUser("cutoff-user");
    const cutoff = new Date((now() - 60) * 1000).toISOString();
    const withCutoff = { ...env, LEGACY_TOKEN_CUTOFF: cutoff };
    const before = await signJwt(claims(id, { iat: now() - 120, exp: now() + 180 }), TEST_LEGACY_JWT_SECRET);
    const after = await signJwt(claims(id), TEST_LEGACY_JWT_SECRET);
    expect(await readToken(withCutoff, before, "access")).toMatchObject({ user_id: id, token_type: "access" });
    expect(await readToken(withCutoff, after, "access")).toBeNull();
    expect(await readToken(env, after, "access")).not.toBeNull();
    // Once the cutoff has passed, the new app signs with its own secret, which the cutoff does not affect.
    expect(await readToken(withCutoff, await issueToken(withCutoff, id, "access"), "access")).toMatchObject({ user_id: id });
    // A cutoff that cannot be read refuses every legacy token rather than none.
    expect(await readToken({ ...env, LEGACY_TOKEN_CUTOFF: "next tuesday" }, before, "access")).toBeNull();
  });

  it("take the earlier of LEGACY_TOKEN_CUTOFF and the cutover's completion as the cutoff", async () => {
    const configured = "2030-01-01T00:00:00Z";
    expect(legacyTokenCutoff({ LEGACY_TOKEN_CUTOFF: configured })).toEqual(new Date(configured));
    expect(legacyTokenCutoff({})).toBeNull();
    expect(legacyTokenCutoff({}, new Date("2029-06-01T00:00:00Z"))).toEqual(new Date("2029-06-01T00:00:00Z"));
    expect(legacyTokenCutoff({ LEGACY_TOKEN_CUTOFF: configured }, new Date("2029-06-01T00:00:00Z"))).toEqual(new Date("2029-06-01T00:00:00Z"));
    expect(legacyTokenCutoff({ LEGACY_TOKEN_CUTOFF: configured }, new Date("2031-06-01T00:00:00Z"))).toEqual(new Date(configured));

    const { id } = await newUser("completed-user");
    const token = await signJwt(claims(id), TEST_LEGACY_JWT_SECRET);
    expect(await readToken(env, token, "access", legacyTokenCutoff(env as Env, new Date(Date.now() - 60_000)))).toBeNull();
    expect(await readToken(env, token, "access", legacyTokenCutoff(env as Env, new Date(Date.now() + 60_000)))).not.toBeNull();
  });

  it("honour LEGACY_ACCESS_TOKEN_SECONDS and LEGACY_REFRESH_TOKEN_SECONDS", async () => {
    const { id } = await newUser("legacy-lifetime-user");
    const hour = await signJwt(claims(id, { exp: now() + 3600 }), TEST_LEGACY_JWT_SECRET);
    expect(await readToken(env, hour, "access")).toBeNull();
    expect(await readToken({ ...env, LEGACY_ACCESS_TOKEN_SECONDS: "3600" }, hour, "access")).toMatchObject({ user_id: id });
    const week = await signJwt(claims(id, { token_type: "refresh", exp: now() + 7 * 86_400 }), TEST_LEGACY_JWT_SECRET);
    expect(await readToken(env, week, "refresh")).toBeNull();
    expect(await readToken({ ...env, LEGACY_REFRESH_TOKEN_SECONDS: String(7 * 86_400) }, week, "refresh")).toMatchObject({ user_id: id });
  });
});

describe("our own tokens", () => {
  it("are refused when they claim a lifetime longer than ours", async () => {
    const { id } = await newUser("own-lifetime-user");
    expect(await accepted(await signJwt(claims(id), TEST_JWT_SECRET))).toBe(true);
    expect(await accepted(await signJwt(claims(id, { exp: now() + 100 * YEAR }), TEST_JWT_SECRET))).toBe(false);
    const refresh = await signJwt(claims(id, { token_type: "refresh", exp: now() + YEAR }), TEST_JWT_SECRET);
    expect((await apiJson("/api/accounts/token/refresh/", { refresh })).status).toBe(401);
  });

  it("carry exp, iat, jti, token_type and user_id, HS256", async () => {
    const { id } = await newUser("claims-user");
    const token = await issueToken(env, id, "refresh");
    const [header] = token.split(".");
    expect(JSON.parse(atob(header!.replace(/-/g, "+").replace(/_/g, "/")))).toMatchObject({ alg: "HS256" });
    const payload = unverifiedJwtPayload(token)!;
    expect(payload).toMatchObject({ token_type: "refresh", user_id: id });
    expect(payload.exp).toBe((payload.iat as number) + 86_400);
    expect(payload.jti).toMatch(/^[0-9a-f]{32}$/);
  });

  it("are never signed or checked with an empty secret", async () => {
    const { id } = await newUser("no-secret-user");
    await expect(issueToken({ ...env, JWT_SECRET: "", LEGACY_JWT_SECRET: undefined }, id, "access")).rejects.toThrow(/empty HMAC secret/); // the app answers 503 before it gets here (test/health.test.ts)
    const legacy = await signJwt(claims(id), TEST_LEGACY_JWT_SECRET);
    expect(await readToken({ ...env, JWT_SECRET: "" }, legacy, "access")).toMatchObject({ user_id: id });
    expect(await readToken({ ...env, JWT_SECRET: "", LEGACY_JWT_SECRET: "" }, legacy, "access")).toBeNull();
  });
});

describe("any token", () => {
  it("is refused unless signed HS256: alg none, HS512 and RS256 headers are refused", async () => {
    const { id } = await newUser("alg-user");
    for (const secret of [TEST_JWT_SECRET, TEST_LEGACY_JWT_SECRET]) {
      const payload = claims(id);
      expect(await accepted(await withHeader({ alg: "HS256", typ: "JWT" }, payload, secret))).toBe(true);
      expect(await accepted(`${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${b64url(JSON.stringify(payload))}.`)).toBe(false);
      expect(await accepted(await withHeader({ alg: "none", typ: "JWT" }, payload, secret))).toBe(false);
      expect(await accepted(await withHeader({ alg: "RS256", typ: "JWT" }, payload, secret))).toBe(false);
      expect(await accepted(await new SignJWT(payload).setProtectedHeader({ alg: "HS512", typ: "JWT" }).sign(new TextEncoder().encode(secret)))).toBe(false);
    }
  });

  it("is refused without jti, exp, token_type or a user id", async () => {
    const { id } = await newUser("missing-claims-user");
    for (const claim of ["jti", "exp", "token_type", "user_id"]) {
      const payload: Record<string, unknown> = claims(id);
      delete payload[claim];
      expect(await accepted(await signJwt(payload, TEST_LEGACY_JWT_SECRET)), claim).toBe(false);
    }
    expect(await accepted(await signJwt(claims(id, { user_id: String(id) }), TEST_LEGACY_JWT_SECRET))).toBe(true);
    expect(await accepted(await signJwt(claims(id, { user_id: -1 }), TEST_LEGACY_JWT_SECRET))).toBe(false);
  });
});

describe("token parsing", () => {
  it("never throws on arbitrary input, signed or not", async () => {
    const json = fc.oneof(fc.json(), fc.object().map((o) => JSON.stringify(o)), fc.string());
    const token = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.tuple(json, json, fc.string({ maxLength: 60 })).map(([h, p, s]) => `${b64url(h)}.${b64url(p)}.${s}`),
      fc.tuple(fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue()), fc.dictionary(fc.constantFrom(...Object.keys(claims(1)), "nbf", "aud"), fc.jsonValue())).map(([h, p]) => ({ h: { alg: "HS256", ...h }, p })),
    );
    await fc.assert(
      fc.asyncProperty(token, fc.constantFrom(TEST_JWT_SECRET, TEST_LEGACY_JWT_SECRET), fc.constantFrom("access" as const, "refresh" as const), async (t, secret, type) => {
        const text = typeof t === "string" ? t : await withHeader(t.h, t.p, secret);
        unverifiedJwtPayload(text);
        const read = await readToken(env, text, type);
        if (read) expect(read.token_type).toBe(type);
      }),
      { numRuns: 300 },
    );
  });
});

describe("unverifiedJwtPayload", () => {
  it("is total and bounded", async () => {
    expect(unverifiedJwtPayload(await signJwt({ user_id: 7 }, "whatever"))).toEqual({ user_id: 7 });
    for (const token of ["", "garbage", "a.b.c", "..", `x.${b64url("[1,2]")}.y`, `x.${b64url("null")}.y`, `x.${b64url('{"user_id":1}'.padEnd(10_000, " "))}.y`, "x.%%%.y", `${"a".repeat(1_000_000)}.${b64url("{}")}.z`]) {
      expect(unverifiedJwtPayload(token), token.slice(0, 30)).toBeNull();
    }
  });
});
