import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signJwt } from "../../src/lib/jwt";
import { TEST_LEGACY_JWT_SECRET, TEST_PASSWORD_ITERATIONS } from "../config";
import { api, apiJson, corpus, fastRetries, newUser, originUrl, sha256Hex, startJob, uploadCorpusExports, waitForJob } from "../helpers";

describe("a user migrated by the engine", () => {
  it("logs in with the original password, lists their files and downloads one byte-identical to the legacy copy", async () => {
    const legacy = await corpus();
    await uploadCorpusExports("accounts");
    expect((await waitForJob(await startJob({ kind: "full", exportSet: "accounts", settings: fastRetries }))).state).toBe("completed");
    const user = legacy.users[1]!;
    const mine = legacy.files.filter((f) => f.userId === user.id && !f.oversize);

    const login = await apiJson("/api/accounts/login/", { username: user.username, password: user.password });
    expect(login.status).toBe(200);
    expect(Object.keys(login.body).sort()).toEqual(["access", "refresh"]);
    // The legacy hash (fewer iterations) was upgraded to the work factor on this first login, and still works after.
    const stored = await env.DB.prepare(`SELECT password_hash FROM users WHERE id = ?`).bind(user.id).first<{ password_hash: string }>();
    expect(stored!.password_hash).toMatch(new RegExp(`^pbkdf2_sha256\\$${TEST_PASSWORD_ITERATIONS}\\$`));
    expect((await apiJson("/api/accounts/login/", { username: user.username, password: user.password })).status).toBe(200);

    const me = await (await api("/api/accounts/user/", { token: login.body.access })).json();
    expect(me).toEqual({ id: user.id, username: user.username, email: user.email });
    const list = await (await api("/api/list_cutter/list_saved_files/", { token: login.body.access })).json<{ files: any[] }>();
    expect(list.files.map((f) => f.file_id).sort()).toEqual(mine.map((f) => f.fileId).sort());
    const first = list.files.find((f) => f.file_id === mine[0]!.fileId)!;
    expect(first).toMatchObject({ id: mine[0]!.id, file_name: mine[0]!.fileName, file_path: mine[0]!.filePath, user_tags: ["imported", `tag ${mine[0]!.id}`] });

    const file = mine.find((f) => f.fileName === 'sales report (Q1), "final".csv')!;
    const res = await api(`/api/list_cutter/download/${encodeURIComponent(file.fileName)}/`, { token: login.body.access });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toBe(`attachment; filename="sales report (Q1), _final_.csv"; filename*=UTF-8''sales%20report%20%28Q1%29%2C%20%22final%22.csv`);
    const original = await fetch(`${originUrl}/media/${file.relativePath}`);
    expect(await sha256Hex(res.body!)).toBe(await sha256Hex(original.body!));
  });
});

describe("tokens", () => {
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (over: Record<string, unknown> = {}) => ({ token_type: "access", exp: now() + 300, iat: now(), jti: "abc", user_id: 1, ...over });

  it("accepts a simplejwt access token minted with the legacy secret; refuses tampered, expired and wrong-type ones", async () => {
    const legacy = await signJwt(claims(), TEST_LEGACY_JWT_SECRET);
    expect((await api("/api/accounts/user/", { token: legacy })).status).toBe(200);

    const [head, , signature] = legacy.split(".");
    const forged = `${head}.${btoa(JSON.stringify(claims({ user_id: 2 }))).replace(/=+$/, "")}.${signature}`;
    for (const token of [forged, await signJwt(claims({ exp: 1, iat: 0 }), TEST_LEGACY_JWT_SECRET), await signJwt(claims(), "some-other-secret"), await signJwt(claims({ token_type: "refresh" }), TEST_LEGACY_JWT_SECRET), "garbage"]) {
      const res = await api("/api/accounts/user/", { token });
      expect(res.status, token.slice(0, 40)).toBe(401);
      expect(await res.json()).toEqual({ detail: "Given token not valid for any token type" });
    }
    expect(await (await api("/api/accounts/user/")).json()).toEqual({ detail: "Authentication credentials were not provided." });
  });

  it("refreshes, and a logged-out refresh token is refused", async () => {
    const user = await newUser("refresher");
    const refreshed = await apiJson("/api/accounts/token/refresh/", { refresh: user.refresh });
    expect(refreshed.status).toBe(200);
    expect((await api("/api/accounts/user/", { token: refreshed.body.access })).status).toBe(200);
    expect((await apiJson("/api/accounts/logout/", { refresh: user.refresh }, { token: user.access })).status).toBe(205);
    expect(await apiJson("/api/accounts/token/refresh/", { refresh: user.refresh })).toEqual({ status: 401, body: { detail: "Token is invalid or expired", code: "token_not_valid" } });
    const legacyRefresh = await signJwt({ token_type: "refresh", user_id: user.id, jti: "legacy-r", iat: now(), exp: now() + 3600 }, TEST_LEGACY_JWT_SECRET);
    expect((await apiJson("/api/accounts/token/refresh/", { refresh: legacyRefresh })).status).toBe(200);
  });
});

describe("registration and login", () => {
  it("validates registrations like the legacy serializer", async () => {
    expect(await apiJson("/api/accounts/register/", { username: "ann", password: "abcdefgh1", password2: "different1" })).toEqual({ status: 400, body: { non_field_errors: ["Passwords do not match"] } });
    expect((await apiJson("/api/accounts/register/", { username: "ann", password: "short", password2: "short" })).body).toEqual({ password: ["This password is too short. It must contain at least 8 characters."] });
    expect((await apiJson("/api/accounts/register/", { username: "ann" })).body).toEqual({ password: ["This field is required."], password2: ["This field is required."] });
    expect((await apiJson("/api/accounts/register/", { username: "bad name!", password: "abcdefgh1", password2: "abcdefgh1" })).body).toHaveProperty("username");
    expect(await apiJson("/api/accounts/register/", { username: "ann", email: "ann@example.com", password: "abcdefgh1", password2: "abcdefgh1" })).toEqual({ status: 201, body: { detail: "User created successfully" } });
    expect(await apiJson("/api/accounts/register/", { username: "ann", password: "abcdefgh1", password2: "abcdefgh1" })).toEqual({ status: 400, body: { username: ["A user with that username already exists."] } });
    const ann = await env.DB.prepare(`SELECT id, password_hash FROM users WHERE username = 'ann'`).first<{ id: number; password_hash: string }>();
    expect(ann!.id).toBeGreaterThan(1_000_000_000);
    expect(ann!.password_hash).toMatch(new RegExp(`^pbkdf2_sha256\\$${TEST_PASSWORD_ITERATIONS}\\$[A-Za-z0-9]{22}\\$[A-Za-z0-9+/]{43}=$`));
    const bad = await api("/api/accounts/register/", { method: "POST", body: "{oops" });
    expect(bad.status).toBe(400);
  });

  it("answers the same whether the user is unknown or the password wrong, and rate-limits", async () => {
    await newUser("target");
    const unknown = await apiJson("/api/accounts/login/", { username: "nobody-here", password: "whatever1" }, { headers: { "cf-connecting-ip": "192.0.2.10" } });
    const wrong = await apiJson("/api/accounts/login/", { username: "target", password: "wrong-password" }, { headers: { "cf-connecting-ip": "192.0.2.11" } });
    expect(unknown).toEqual({ status: 401, body: { detail: "No active account found with the given credentials" } });
    expect(wrong).toEqual(unknown);
    // Five attempts per username and address in 15 minutes: the sixth from that address is refused, even with the right password.
    for (let i = 0; i < 5; i++) expect((await apiJson("/api/accounts/login/", { username: "target", password: `nope-${i}` }, { headers: { "cf-connecting-ip": "192.0.2.12" } })).status).toBe(401);
    const blocked = await api("/api/accounts/login/", { method: "POST", body: JSON.stringify({ username: "target", password: "correct-horse-battery" }), headers: { "cf-connecting-ip": "192.0.2.12" } });
    expect(blocked.status).toBe(429);
    expect(await blocked.json()).toEqual({ detail: "Too many login attempts. Try again later." });
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(blocked.headers.get("retry-after"))).toBeLessThanOrEqual(900);
    expect((await apiJson("/api/accounts/login/", { username: "target" })).body).toEqual({ password: ["This field is required."] });
  });
});
