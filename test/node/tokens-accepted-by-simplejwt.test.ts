// The new app's tokens judged by the real djangorestframework-simplejwt (Debian's
// python3-djangorestframework-simplejwt, run by simplejwt_verify.py): while the cutover is not
// complete the new app signs with the legacy SECRET_KEY, so a user sent back to legacy stays logged in;
// once it is complete it signs with its own JWT_SECRET, which legacy cannot verify.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { decodeJwt, SignJWT } from "jose";
import { TEST_LEGACY_JWT_SECRET } from "../config.ts";
import type { Corpus } from "../legacy-origin/corpus.ts";
import { startStack } from "./stack.ts";

const PORT = 8793;
const PYTHON = "/usr/bin/python3";
const PACKAGE = "python3-djangorestframework-simplejwt";
const VERIFIER = fileURLToPath(new URL("simplejwt_verify.py", import.meta.url));
/** The new app's own signing key in this stack. */
const JWT_SECRET = "node-test-jwt-simplejwt";
/** The gate's state cache in this stack: short, so that the phase change shows quickly. */
const TTL_MS = 500;
const CLAIMS = ["token_type", "exp", "iat", "jti", "user_id"];

type TokenType = "access" | "refresh";
type Verdict = { ok: true; claims: Record<string, unknown> } | { ok: false; error: string };

/** simplejwt's AccessToken(token) / RefreshToken(token) for each token, with Django's SECRET_KEY `secret`. */
function simplejwt(secret: string, tokens: { token: string; type: TokenType }[]): Verdict[] {
  const run = spawnSync(PYTHON, [VERIFIER], { input: JSON.stringify({ secret, tokens }), encoding: "utf8", timeout: 60_000 });
  if (run.status !== 0) throw new Error(`simplejwt_verify.py failed (${run.status ?? run.signal}): ${run.stderr}`);
  const verdicts = run.stdout.trim().split("\n").map((line) => JSON.parse(line) as Verdict);
  assert.equal(verdicts.length, tokens.length, run.stdout);
  return verdicts;
}

function assertAccepted(verdict: Verdict | undefined, type: TokenType, userId: number, what: string): void {
  assert.ok(verdict?.ok, `simplejwt refused ${what}: ${JSON.stringify(verdict)}`);
  for (const claim of CLAIMS) assert.ok(claim in verdict.claims, `${what} has no ${claim}: ${JSON.stringify(verdict.claims)}`);
  assert.equal(verdict.claims.token_type, type, what);
  assert.equal(verdict.claims.user_id, userId, `${what}: user_id`);
}

test("simplejwt accepts the new app's tokens until the cutover is complete, and not after", { timeout: 240_000 }, async (t) => {
  if (spawnSync(PYTHON, ["-c", "import rest_framework_simplejwt"]).status !== 0) {
    const why = `${PYTHON} cannot import rest_framework_simplejwt: install ${PACKAGE} (apt-get install ${PACKAGE})`;
    if (process.env.CI) assert.fail(why);
    t.skip(why);
    return;
  }

  const stack = await startStack(PORT, { LEGACY_JWT_SECRET: TEST_LEGACY_JWT_SECRET, JWT_SECRET, CUTOVER_CACHE_TTL_MS: String(TTL_MS) });
  /** A JSON request to the Worker (through the gate), checked to be served by the new app. */
  const call = async (path: string, init: { body?: unknown; token?: string } = {}): Promise<{ status: number; body: any }> => {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    const res = await fetch(`${stack.worker.url}${path}`, { method: init.body === undefined ? "GET" : "POST", headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
    const text = await res.text();
    assert.equal(res.headers.get("x-served-by"), "workers", `${path} was not served by the new app: ${res.status} ${text.slice(0, 500)}`);
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
  const password = "tangerine-orbit-4417-quasar";
  const username = `simplejwt-${Date.now()}`;
  const login = async () => {
    const res = await call("/api/accounts/login/", { body: { username, password } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as { access: string; refresh: string };
  };

  try {
    // 1. Everyone on the new app; a user registers, logs in and refreshes there.
    await stack.patchCutover({ percent: 100 });
    await sleep(TTL_MS + 200);
    const registered = await call("/api/accounts/register/", { body: { username, email: `${username}@example.com`, password, password2: password } });
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    const pair = await login();
    const refreshed = await call("/api/accounts/token/refresh/", { body: { refresh: pair.refresh } });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    const me = await call("/api/accounts/user/", { token: pair.access });
    assert.equal(me.status, 200, JSON.stringify(me.body));
    const userId = me.body.id as number;
    assert.ok(Number.isSafeInteger(userId), `user id ${userId}`);

    // 2. The legacy site's simplejwt accepts all three, with the five claims and this user's id.
    const tokens = [
      { token: pair.access, type: "access" as const, what: "the login's access token" },
      { token: pair.refresh, type: "refresh" as const, what: "the login's refresh token" },
      { token: refreshed.body.access as string, type: "access" as const, what: "the refreshed access token" },
    ];
    const verdicts = simplejwt(TEST_LEGACY_JWT_SECRET, tokens);
    tokens.forEach(({ type, what }, i) => assertAccepted(verdicts[i], type, userId, what));

    // 3. Not vacuous: the same claims under another key, and a refresh token used as an access token, are refused.
    const forged = await new SignJWT(decodeJwt(pair.access)).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode("not-the-legacy-secret"));
    const [otherKey, wrongType] = simplejwt(TEST_LEGACY_JWT_SECRET, [
      { token: forged, type: "access" },
      { token: pair.refresh, type: "access" },
    ]);
    assert.deepEqual(otherKey, { ok: false, error: "Token is invalid or expired" });
    assert.deepEqual(wrongType, { ok: false, error: "Token has wrong type" });

    // The fixture legacy origin issues what simplejwt issues: its tokens pass the real checks too.
    const corpus = (await (await fetch(`${stack.origin.url}/__corpus`)).json()) as Corpus;
    const legacyUser = corpus.users[0]!;
    const legacyPair = (await (await fetch(`${stack.origin.url}/api/accounts/login/`, { method: "POST", body: JSON.stringify({ username: legacyUser.username, password: legacyUser.password }) })).json()) as { access: string; refresh: string };
    const legacyRefreshed = (await (await fetch(`${stack.origin.url}/api/accounts/token/refresh/`, { method: "POST", body: JSON.stringify({ refresh: legacyPair.refresh }) })).json()) as { access: string };
    const legacyVerdicts = simplejwt(TEST_LEGACY_JWT_SECRET, [
      { token: legacyPair.access, type: "access" },
      { token: legacyPair.refresh, type: "refresh" },
      { token: legacyRefreshed.access, type: "access" },
    ]);
    (["access", "refresh", "access"] as const).forEach((type, i) => assertAccepted(legacyVerdicts[i], type, legacyUser.id, `the fixture origin's ${type} token ${i}`));

    // 4. Once the cutover is complete the new app signs with its own key: legacy's simplejwt refuses
    // a fresh token, which the new app still accepts (and which is still a simplejwt token, under JWT_SECRET).
    await stack.patchCutover({ phase: "complete" });
    await sleep(TTL_MS + 200);
    const after = await login();
    const [withLegacyKey] = simplejwt(TEST_LEGACY_JWT_SECRET, [{ token: after.access, type: "access" }]);
    assert.deepEqual(withLegacyKey, { ok: false, error: "Token is invalid or expired" }, "simplejwt accepted a token issued after completion with the legacy key");
    const [withOwnKey] = simplejwt(JWT_SECRET, [{ token: after.access, type: "access" }]);
    assertAccepted(withOwnKey, "access", userId, "a token issued after completion, under JWT_SECRET");
    const stillMe = await call("/api/accounts/user/", { token: after.access });
    assert.equal(stillMe.status, 200, JSON.stringify(stillMe.body));
    assert.equal(stillMe.body.id, userId);
  } finally {
    await stack.stop();
  }
});
