import { describe, expect, it } from "vitest";
import { fnv1a } from "../../src/cutover/bucket";
import { headerIdentity as stickyIdentity } from "../../src/cutover/identity";
import { chooseBackend } from "../../src/cutover/split";
import { INITIAL_CUTOVER } from "../../src/cutover/state";
import { signJwt } from "../../src/lib/jwt";

const allowlist = INITIAL_CUTOVER.allowlist;
const user = (userId: number) => ({ userId, ip: null, hash: fnv1a(`user:${userId}`) });

describe("sticky traffic split", () => {
  it("hashes with 32-bit FNV-1a", () => {
    expect(fnv1a("")).toBe(0x811c9dc5);
    expect(fnv1a("a")).toBe(0xe40c292c);
    expect(fnv1a("foobar")).toBe(0xbf9cf968);
  });

  it.each([1, 5, 12.5, 25, 50, 75.25, 99])("sends %s%% of 10,000 distinct users to the new app (±1.5 points)", (percent) => {
    let toNew = 0;
    for (let id = 1; id <= 10_000; id++) if (chooseBackend({ percent, allowlist }, user(id)) === "workers") toNew++;
    expect(Math.abs(toNew / 100 - percent)).toBeLessThanOrEqual(1.5);
  });

  it("keeps every user on one side, and raising the percentage only moves users from legacy to new", () => {
    const steps = [0, 5, 25, 50, 75, 100];
    for (let id = 1; id <= 10_000; id++) {
      const sides = steps.map((percent) => chooseBackend({ percent, allowlist }, user(id)));
      expect(chooseBackend({ percent: 25, allowlist }, user(id))).toBe(sides[2]);
      const firstNew = sides.indexOf("workers");
      expect(sides.slice(firstNew).every((s) => s === "workers"), `user ${id}: ${sides}`).toBe(true);
    }
  });

  it("lets allowlists force a side (new wins)", () => {
    const lists = { new: { users: [7], ips: ["10.0.0.1"] }, legacy: { users: [7, 8], ips: [] } };
    expect(chooseBackend({ percent: 0, allowlist: lists }, user(7))).toBe("workers");
    expect(chooseBackend({ percent: 100, allowlist: lists }, user(8))).toBe("legacy");
    expect(chooseBackend({ percent: 0, allowlist: lists }, { userId: null, ip: "10.0.0.1", hash: 9_999 })).toBe("workers");
  });

  it("takes the user id from a bearer token, legacy simplejwt included, and falls back on anything malformed", async () => {
    const legacyToken = await signJwt({ token_type: "access", exp: 2_000_000_000, jti: "x", user_id: 42 }, "legacy-django-secret");
    const req = (headers: Record<string, string>) => new Request("https://list-cutter.test/api/x", { headers });
    expect(stickyIdentity(req({ authorization: `Bearer ${legacyToken}` }))).toMatchObject({ userId: 42, source: "token", hash: fnv1a("user:42") });
    expect(stickyIdentity(req({ cookie: "a=b; lc_bucket=0000abcd" }))).toMatchObject({ source: "cookie", hash: 0xabcd, setCookie: null });

    const firstVisit = stickyIdentity(req({ "cf-connecting-ip": "203.0.113.9" }));
    expect(firstVisit).toMatchObject({ source: "ip", hash: fnv1a("ip:203.0.113.9") });
    expect(firstVisit.setCookie).toBe(`lc_bucket=${fnv1a("ip:203.0.113.9").toString(16).padStart(8, "0")}; Path=/; Max-Age=31536000; HttpOnly; Secure; SameSite=Lax`);
    // The cookie a first visit receives keeps the browser in the same bucket afterwards.
    const cookieValue = /lc_bucket=([0-9a-f]{8})/.exec(firstVisit.setCookie!)![1]!;
    expect(stickyIdentity(req({ cookie: `lc_bucket=${cookieValue}`, "cf-connecting-ip": "198.51.100.1" })).hash).toBe(firstVisit.hash);

    const malformed: Record<string, string>[] = [{ authorization: "Bearer not.a.jwt" }, { authorization: "Bearer a.eyJ1c2VyX2lkIjoiLTEifQ.b" }, { authorization: "Basic abc" }, { cookie: "lc_bucket=zzzzzzzz" }, { cookie: "lc_bucket=" }, { cookie: ";;=;" }];
    for (const bad of malformed) {
      const who = stickyIdentity(req({ ...bad, "cf-connecting-ip": "203.0.113.9" }));
      expect(who, JSON.stringify(bad)).toMatchObject({ userId: null, source: "ip", hash: fnv1a("ip:203.0.113.9") });
    }
  });
});
