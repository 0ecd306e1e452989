// The fixture legacy origin's accounts API (accounts.ts) against what Django + simplejwt 5 answer:
// the tokens it issues, the tokens it refuses, and that a token the new app mints with the legacy
// SECRET_KEY (as it does until the cutover completes) is one legacy accepts.
import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import { afterEach, beforeAll, describe, expect, inject, it } from "vitest";
// This folder is type-checked with test/tsconfig.node.json: explicit extensions, and no workerd-only
// modules (test/helpers.ts imports cloudflare:*), so the origin is reached with plain fetch.
import { TEST_LEGACY_JWT_SECRET } from "../config.ts";
import type { AccountUser } from "./accounts.ts";
import type { Corpus, CorpusUser } from "./corpus.ts";

const originUrl = inject("legacyOrigin");

const CLAIMS = ["token_type", "exp", "iat", "jti", "user_id"];
const now = () => Math.floor(Date.now() / 1000);

async function call(path: string, init: RequestInit & { token?: string; json?: unknown } = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const headers = new Headers(init.headers);
  if (init.token !== undefined) headers.set("authorization", `Bearer ${init.token}`);
  if (init.json !== undefined) headers.set("content-type", "application/json");
  const res = await fetch(`${originUrl}${path}`, { ...init, headers, body: init.json !== undefined ? JSON.stringify(init.json) : init.body });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

const post = (path: string, json: unknown) => call(path, { method: "POST", json });
const login = (username: string, password: string) => post("/api/accounts/login/", { username, password });
const me = (token?: string) => call("/api/accounts/user/", { token });

/** A token as the new app mints it for legacy: simplejwt's claims, signed with `secret`. */
function mint(claims: Record<string, unknown>, secret = TEST_LEGACY_JWT_SECRET, alg = "HS256"): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg, typ: "JWT" }).sign(new TextEncoder().encode(secret));
}

function claimsFor(userId: number, type: "access" | "refresh" = "access", overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = now();
  return { token_type: type, exp: iat + (type === "access" ? 300 : 86_400), iat, jti: crypto.randomUUID().replace(/-/g, ""), user_id: userId, ...overrides };
}

/** `{"alg":"none"}` with no signature: simplejwt (PyJWT with algorithms=["HS256"]) must refuse it. */
function unsigned(claims: Record<string, unknown>): string {
  const part = (v: unknown) => btoa(JSON.stringify(v)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${part({ alg: "none", typ: "JWT" })}.${part(claims)}.`;
}

let data: Corpus;
let user: CorpusUser;
let initialUsers: AccountUser[];

beforeAll(async () => {
  data = (await call("/__corpus")).body;
  user = data.users.find((u) => data.files.some((f) => f.userId === u.id))!;
  initialUsers = (await call("/__accounts")).body;
  expect(initialUsers.map((u) => u.id)).toEqual(data.users.map((u) => u.id));
});

afterEach(async () => {
  // Tests that add or change users put the corpus users back.
  expect((await call("/__accounts", { method: "PUT", json: initialUsers })).status).toBe(200);
});

describe("login (TokenObtainPairView)", () => {
  it("gives a corpus user simplejwt's pair: HS256, exactly token_type, exp, iat, jti, user_id, 300 s and 1 day", async () => {
    const { status, body } = await login(user.username, user.password);
    expect(status).toBe(200);
    expect(Object.keys(body)).toEqual(["refresh", "access"]);
    for (const [type, lifetime] of [["access", 300], ["refresh", 86_400]] as const) {
      const token = body[type] as string;
      expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT" });
      const claims = decodeJwt(token);
      expect(Object.keys(claims)).toEqual(CLAIMS);
      expect(claims).toMatchObject({ token_type: type, user_id: user.id });
      expect(Number.isInteger(claims.user_id)).toBe(true);
      expect(claims.jti).toMatch(/^[0-9a-f]{32}$/);
      expect(claims.exp! - claims.iat!).toBe(lifetime);
      expect(Math.abs(claims.iat! - now())).toBeLessThanOrEqual(5);
    }
    expect(decodeJwt(body.access).jti).not.toBe(decodeJwt(body.refresh).jti);
  });

  it("answers 401 with simplejwt's message for a wrong password, an unknown user or an inactive one", async () => {
    const refused = { status: 401, body: { detail: "No active account found with the given credentials" } };
    expect(await login(user.username, `${user.password}x`)).toMatchObject(refused);
    expect(await login("nobody-here", user.password)).toMatchObject(refused);
    expect(await login(user.username.toUpperCase(), user.password)).toMatchObject(refused);
    const res = await login(user.username, "wrong");
    expect(res.headers.get("www-authenticate")).toBe('Bearer realm="api"');

    await call("/__accounts", { method: "PUT", json: initialUsers.map((u) => (u.id === user.id ? { ...u, isActive: false } : u)) });
    expect(await login(user.username, user.password)).toMatchObject(refused);
  });

  it("answers DRF's 400s for missing fields and malformed JSON", async () => {
    expect(await post("/api/accounts/login/", {})).toMatchObject({ status: 400, body: { username: ["This field is required."], password: ["This field is required."] } });
    expect(await post("/api/accounts/login/", { username: "  ", password: user.password })).toMatchObject({ status: 400, body: { username: ["This field may not be blank."] } });
    const malformed = await call("/api/accounts/login/", { method: "POST", body: "{not json", headers: { "content-type": "application/json" } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.detail).toMatch(/^JSON parse error/);
    expect((await call("/api/accounts/login/", { method: "POST", body: "x".repeat(65 * 1024) })).status).toBe(413);
    expect((await call("/api/accounts/login/")).status).toBe(405);
  });
});

describe("refresh (TokenRefreshView)", () => {
  it("gives a new access token for a refresh token, and refuses an access token or a forged one", async () => {
    const { body: pair } = await login(user.username, user.password);
    const { status, body } = await post("/api/accounts/token/refresh/", { refresh: pair.refresh });
    expect(status).toBe(200);
    expect(Object.keys(body)).toEqual(["access"]);
    const claims = decodeJwt(body.access);
    expect(Object.keys(claims)).toEqual(CLAIMS);
    expect(claims).toMatchObject({ token_type: "access", user_id: user.id });
    expect(claims.jti).not.toBe(decodeJwt(pair.access).jti);
    expect((await me(body.access)).status).toBe(200);

    expect(await post("/api/accounts/token/refresh/", { refresh: pair.access })).toMatchObject({ status: 401, body: { detail: "Token has wrong type", code: "token_not_valid" } });
    const invalid = { status: 401, body: { detail: "Token is invalid or expired", code: "token_not_valid" } };
    expect(await post("/api/accounts/token/refresh/", { refresh: "garbage" })).toMatchObject(invalid);
    expect(await post("/api/accounts/token/refresh/", { refresh: await mint(claimsFor(user.id, "refresh"), "another-secret") })).toMatchObject(invalid);
    expect(await post("/api/accounts/token/refresh/", { refresh: await mint(claimsFor(user.id, "refresh", { iat: now() - 90_000, exp: now() - 1 })) })).toMatchObject(invalid);
    expect(await post("/api/accounts/token/refresh/", {})).toMatchObject({ status: 400, body: { refresh: ["This field is required."] } });
  });

  it("keeps the refresh token's iat in the access token, as simplejwt 5.2 does (exp counts from now)", async () => {
    const iat = now() - 3_600;
    const { body } = await post("/api/accounts/token/refresh/", { refresh: await mint(claimsFor(user.id, "refresh", { iat, exp: iat + 86_400 })) });
    const claims = decodeJwt(body.access);
    expect(claims.iat).toBe(iat);
    expect(Math.abs(claims.exp! - (now() + 300))).toBeLessThanOrEqual(5);
  });
});

describe("authentication (JWTAuthentication)", () => {
  it("accepts an access token on /api/accounts/user/ and the file list, and refuses a refresh token", async () => {
    const { body: pair } = await login(user.username, user.password);
    expect(await me(pair.access)).toMatchObject({ status: 200, body: { id: user.id, username: user.username, email: user.email } });
    expect(Object.keys((await me(pair.access)).body)).toEqual(["id", "username", "email"]);

    const files = await call("/api/list_cutter/list_saved_files/", { token: pair.access });
    expect(files.status).toBe(200);
    const own = data.files.filter((f) => f.userId === user.id);
    expect(files.body.files.map((f: any) => f.file_id)).toEqual(own.map((f) => f.fileId));
    expect(Object.keys(files.body.files[0])).toEqual(["id", "file_id", "file_name", "file_path", "uploaded_at", "system_tags", "user_tags", "metadata"]);
    expect(files.body.files[0]).toMatchObject({ id: own[0]!.id, file_name: own[0]!.fileName, file_path: own[0]!.filePath, user_tags: ["imported", `tag ${own[0]!.id}`] });

    const refused = await me(pair.refresh);
    expect(refused).toMatchObject({ status: 401, body: { detail: "Given token not valid for any token type", code: "token_not_valid", messages: [{ token_class: "AccessToken", message: "Token has wrong type" }] } });
    expect(refused.headers.get("www-authenticate")).toBe('Bearer realm="api"');
    expect((await call("/api/list_cutter/list_saved_files/", { token: pair.refresh })).status).toBe(401);
  });

  it("refuses another secret, an expired token, alg none, a token without jti, and a bad header", async () => {
    const invalid = { status: 401, body: { detail: "Given token not valid for any token type", code: "token_not_valid" } };
    const expired = claimsFor(user.id, "access", { iat: now() - 400, exp: now() - 100 });
    for (const token of [await mint(claimsFor(user.id), "another-secret"), await mint(expired), unsigned(claimsFor(user.id)), await mint(claimsFor(user.id), TEST_LEGACY_JWT_SECRET, "HS512"), "not.a.jwt"]) {
      expect(await me(token), token).toMatchObject(invalid);
      expect((await call("/api/list_cutter/list_saved_files/", { token })).status).toBe(401);
    }
    const { jti: _jti, ...noJti } = claimsFor(user.id);
    expect((await me(await mint(noJti))).body.messages[0].message).toBe("Token has no id");
    expect((await me(await mint(claimsFor(user.id, "access", { iat: now() + 120 })))).status).toBe(401);

    expect(await me()).toMatchObject({ status: 401, body: { detail: "Authentication credentials were not provided." } });
    expect(await call("/api/accounts/user/", { headers: { authorization: "Basic dXNlcjpwdw==" } })).toMatchObject({ status: 401, body: { detail: "Authentication credentials were not provided." } });
    expect(await call("/api/accounts/user/", { headers: { authorization: "Bearer a b" } })).toMatchObject({ status: 401, body: { code: "bad_authorization_header" } });
  });

  it("answers user_not_found for a valid token of an unknown user, and user_inactive for an inactive one", async () => {
    const unknown = await mint(claimsFor(9_999));
    expect(await me(unknown)).toEqual(expect.objectContaining({ status: 401, body: { detail: "User not found", code: "user_not_found" } }));
    const { user_id: _id, ...noUser } = claimsFor(user.id);
    expect((await me(await mint(noUser))).body).toEqual({ detail: "Token contained no recognizable user identification", code: "token_not_valid" });

    const token = await mint(claimsFor(user.id));
    await call("/__accounts", { method: "PUT", json: initialUsers.map((u) => (u.id === user.id ? { ...u, isActive: false } : u)) });
    expect((await me(token)).body).toEqual({ detail: "User is inactive", code: "user_inactive" });
  });

  it("accepts tokens minted with jose and the legacy SECRET_KEY, as the new app mints them before completion", async () => {
    const access = await mint(claimsFor(user.id));
    expect(await me(access)).toMatchObject({ status: 200, body: { id: user.id, username: user.username } });
    expect((await call("/api/list_cutter/list_saved_files/", { token: access })).body.files.length).toBeGreaterThan(0);
    // A user id as a string of digits is still Django's primary key.
    expect((await me(await mint(claimsFor(user.id, "access", { user_id: String(user.id) })))).status).toBe(200);
    const refreshed = await post("/api/accounts/token/refresh/", { refresh: await mint(claimsFor(user.id, "refresh")) });
    expect(refreshed.status).toBe(200);
    expect((await me(refreshed.body.access)).body.id).toBe(user.id);
  });
});

describe("register and the /__accounts control", () => {
  it("creates a user with the next id and a Django hash, who can then log in; a taken username is a 400", async () => {
    const password = "a long enough passphrase";
    const created = await post("/api/accounts/register/", { username: "fresh-user", email: "fresh@example.com", password, password2: password });
    expect(created).toMatchObject({ status: 201, body: { detail: "User created successfully" } });
    const users: AccountUser[] = (await call("/__accounts")).body;
    const fresh = users.find((u) => u.username === "fresh-user")!;
    expect(fresh.id).toBe(Math.max(...initialUsers.map((u) => u.id)) + 1);
    expect(fresh.passwordHash).toMatch(/^pbkdf2_sha256\$1000\$[A-Za-z0-9]{22}\$[A-Za-z0-9+/]{43}=$/);
    const { body } = await login("fresh-user", password);
    expect(decodeJwt(body.access).user_id).toBe(fresh.id);
    expect((await me(body.access)).body).toEqual({ id: fresh.id, username: "fresh-user", email: "fresh@example.com" });
    expect((await call("/api/list_cutter/list_saved_files/", { token: body.access })).body).toEqual({ files: [] });

    expect(await post("/api/accounts/register/", { username: user.username, email: "x@example.com", password, password2: password })).toMatchObject({ status: 400, body: { username: ["A user with that username already exists."] } });
    expect(await post("/api/accounts/register/", { username: "other", email: "o@example.com", password, password2: `${password}!` })).toMatchObject({ status: 400, body: { non_field_errors: ["Passwords do not match"] } });
    const racing = await Promise.all([1, 2].map(() => post("/api/accounts/register/", { username: "racer", email: "r@example.com", password, password2: password })));
    expect(racing.map((r) => r.status).sort()).toEqual([201, 400]);
    expect(await post("/api/accounts/register/", { username: "other" })).toMatchObject({ status: 400, body: { password: ["This field is required."], password2: ["This field is required."] } });
  });

  it("replaces the users with PUT /__accounts and refuses a body that is not a list of users", async () => {
    const only = [{ id: 40, username: "solo", email: "solo@example.com", passwordHash: user.passwordHash }];
    expect(await call("/__accounts", { method: "PUT", json: only })).toMatchObject({ status: 200, body: [{ ...only[0], isActive: true }] });
    expect((await login("solo", user.password)).status).toBe(200);
    expect((await login(user.username, user.password)).status).toBe(401);
    // Thousands of users at once (well past the API's 64 KiB body cap).
    const many = Array.from({ length: 2_000 }, (_, i) => ({ id: 10_000 + i, username: `bulk-${i}`, email: `bulk-${i}@example.com`, passwordHash: user.passwordHash, isActive: true }));
    expect((await call("/__accounts", { method: "PUT", json: many })).body).toHaveLength(2_000);
    expect((await login("bulk-1999", user.password)).status).toBe(200);
    expect((await call("/__accounts", { method: "PUT", json: { id: 1 } })).status).toBe(400);
    expect((await call("/__accounts", { method: "PUT", json: [{ id: "1" }] })).status).toBe(400);
    expect((await call("/__accounts", { method: "PUT", body: "[{" })).status).toBe(400);
  });
});

describe("the file list and paths it does not implement", () => {
  it("authenticates the file list like every DRF view, and keeps legacy's generic answer elsewhere", async () => {
    expect(await call("/api/list_cutter/list_saved_files/")).toMatchObject({ status: 401, body: { detail: "Authentication credentials were not provided." } });
    expect(await call("/api/list_cutter/list_saved_files/", { token: "victim-token" })).toMatchObject({ status: 401, body: { code: "token_not_valid" } });
    expect(await call("/api/accounts/other/")).toMatchObject({ status: 200, body: { servedBy: "legacy", path: "/api/accounts/other/" } });
  });
});
