import { env } from "cloudflare:workers";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { issueToken, readToken } from "../../../src/app/auth/tokens";
import { verifyJwt } from "../../../src/lib/jwt";
import { TEST_JWT_SECRET, TEST_LEGACY_JWT_SECRET } from "../../config";
import { apiJson, newUser } from "../../helpers";

const CLAIMS = ["token_type", "exp", "iat", "jti", "user_id"];

describe("tokens the new app issues while both sides are live", () => {
  it("are simplejwt tokens signed with the legacy secret, with the legacy lifetimes, so that legacy accepts them too", async () => {
    const { id, access, refresh } = await newUser("both-sides-user");
    for (const [token, type, lifetime] of [[access, "access", 300], [refresh, "refresh", 86_400]] as const) {
      expect(decodeProtectedHeader(token)).toEqual({ alg: "HS256", typ: "JWT" });
      const claims = await verifyJwt(token, TEST_LEGACY_JWT_SECRET, CLAIMS);
      expect(claims, type).toMatchObject({ token_type: type, user_id: id });
      expect(Object.keys(claims!).sort()).toEqual([...CLAIMS].sort());
      expect(claims!.exp! - claims!.iat!).toBe(lifetime);
      expect(claims!.jti).toMatch(/^[0-9a-f]{32}$/);
      expect(await verifyJwt(token, TEST_JWT_SECRET, CLAIMS)).toBeNull();
    }
    const refreshed = await apiJson("/api/accounts/token/refresh/", { refresh });
    expect(refreshed.status).toBe(200);
    expect(await verifyJwt(refreshed.body.access, TEST_LEGACY_JWT_SECRET, CLAIMS)).toMatchObject({ token_type: "access", user_id: id });
  });

  it("follow LEGACY_ACCESS_TOKEN_SECONDS when legacy is configured with other lifetimes", async () => {
    const { id } = await newUser("both-sides-lifetime");
    const token = await issueToken({ ...env, LEGACY_ACCESS_TOKEN_SECONDS: "900" }, id, "access");
    const claims = await verifyJwt(token, TEST_LEGACY_JWT_SECRET, CLAIMS);
    expect(claims!.exp! - claims!.iat!).toBe(900);
  });

  it("are signed with the new app's own secret once legacy tokens are refused (past the cutoff), or without a legacy secret", async () => {
    const { id } = await newUser("after-cutoff-user");
    const pastCutoff = { ...env, LEGACY_TOKEN_CUTOFF: new Date(Date.now() - 1_000).toISOString() };
    const after = await issueToken(pastCutoff, id, "access");
    expect(await verifyJwt(after, TEST_JWT_SECRET, CLAIMS)).toMatchObject({ user_id: id });
    expect(await verifyJwt(after, TEST_LEGACY_JWT_SECRET, CLAIMS)).toBeNull();
    expect(await readToken(pastCutoff, after, "access")).toMatchObject({ user_id: id });

    const withoutLegacy = await issueToken({ ...env, LEGACY_JWT_SECRET: undefined }, id, "refresh");
    expect(await verifyJwt(withoutLegacy, TEST_JWT_SECRET, CLAIMS)).toMatchObject({ token_type: "refresh" });

    // A legacy lifetime setting that cannot be read: legacy tokens are refused, so ours are signed with our secret.
    const unreadable = await issueToken({ ...env, LEGACY_ACCESS_TOKEN_SECONDS: "soon" }, id, "access");
    expect(await verifyJwt(unreadable, TEST_JWT_SECRET, CLAIMS)).toMatchObject({ user_id: id });
    // ... whichever setting it is: a refresh token too, so that readToken, which needs both, accepts it.
    const badAccessSetting = { ...env, LEGACY_ACCESS_TOKEN_SECONDS: "soon" };
    const refresh = await issueToken(badAccessSetting, id, "refresh");
    expect(await verifyJwt(refresh, TEST_JWT_SECRET, CLAIMS)).toMatchObject({ token_type: "refresh" });
    expect(await readToken(badAccessSetting, refresh, "refresh")).toMatchObject({ user_id: id });
  });
});
