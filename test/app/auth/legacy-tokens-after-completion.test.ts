import { describe, expect, it } from "vitest";
import { signJwt, verifyJwt } from "../../../src/lib/jwt";
import { TEST_JWT_SECRET, TEST_LEGACY_JWT_SECRET } from "../../config";
import { afterCacheTtl, newUser, patchCutover, worker } from "../../helpers";

const now = () => Math.floor(Date.now() / 1000);
const CLAIMS = ["token_type", "exp", "iat", "jti", "user_id"];
const login = async () =>
  (await worker("/api/accounts/login/", { method: "POST", body: JSON.stringify({ username: "after-completion", password: "correct-horse-battery" }), headers: { "content-type": "application/json" } })).json<{ access: string }>();
const legacyToken = (userId: number, iat: number) => signJwt({ token_type: "access", user_id: userId, jti: crypto.randomUUID().replace(/-/g, ""), iat, exp: iat + 300 }, TEST_LEGACY_JWT_SECRET);

describe("legacy tokens once the cutover is complete", () => {
  it("are accepted if issued before the completion and refused if issued after it (only a holder of the old SECRET_KEY could mint those)", async () => {
    const { id } = await newUser("after-completion");
    expect((await patchCutover({ percent: 100 })).status).toBe(200);
    const before = await legacyToken(id, now() - 5);
    // Until the cutover completes, the new app signs what it issues with the legacy secret ...
    const issuedBefore = (await login()).access;
    expect(await verifyJwt(issuedBefore, TEST_LEGACY_JWT_SECRET, CLAIMS)).toMatchObject({ user_id: id });
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await patchCutover({ phase: "complete" })).body).toMatchObject({ phase: "complete" });
    await afterCacheTtl();
    const me = (token: string) => worker("/api/accounts/user/", { headers: { authorization: `Bearer ${token}` } });
    expect((await me(before)).status).toBe(200);
    const minted = await me(await legacyToken(id, now()));
    expect(minted.status).toBe(401);
    expect(minted.headers.get("x-served-by")).toBe("workers");
    // ... which stays valid until it expires; once complete, it signs with its own.
    expect((await me(issuedBefore)).status).toBe(200);
    const issuedAfter = (await login()).access;
    expect(await verifyJwt(issuedAfter, TEST_JWT_SECRET, CLAIMS)).toMatchObject({ user_id: id });
    expect(await verifyJwt(issuedAfter, TEST_LEGACY_JWT_SECRET, CLAIMS)).toBeNull();
    expect((await me(issuedAfter)).status).toBe(200);
  });
});
