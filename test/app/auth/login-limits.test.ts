import { describe, expect, it } from "vitest";
import { apiJson, newUser } from "../../helpers";

const login = (username: string, password: string, ip: string) => apiJson("/api/accounts/login/", { username, password }, { headers: { "cf-connecting-ip": ip } });
const TOO_MANY = { detail: "Too many login attempts. Try again later." };

describe("login rate limiting", () => {
  it("counts parallel attempts atomically: of 20 at once from one address for one username, at most 5 are checked", async () => {
    await newUser("parallel-target");
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => login("parallel-target", `wrong-${i}`, "203.0.113.77")));
    const checked = results.filter((r) => r.status === 401);
    const refused = results.filter((r) => r.status === 429);
    expect(checked.length + refused.length).toBe(20);
    expect(checked.length).toBeLessThanOrEqual(5);
    expect(refused[0]!.body).toEqual(TOO_MANY);
  });

  it("never locks a user out from another address: an attacker's failures block only the attacker's address for that user", async () => {
    await newUser("victim", "correct-horse-77");
    for (let i = 0; i < 5; i++) expect((await login("victim", `guess-${i}`, "203.0.113.66")).status).toBe(401);
    expect((await login("victim", "guess-5", "203.0.113.66")).status).toBe(429);
    // Blocked even with the right password, from the attacker's address only.
    expect((await login("victim", "correct-horse-77", "203.0.113.66")).status).toBe(429);
    expect((await login("victim", "correct-horse-77", "198.51.100.7")).status).toBe(200);
  });

  it("forgets a username's failures from an address once the user logs in from it", async () => {
    await newUser("forgetful", "tangerine-door-42");
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) expect((await login("forgetful", `typo-${i}`, "203.0.113.80")).status).toBe(401);
      expect((await login("forgetful", "tangerine-door-42", "203.0.113.80")).status).toBe(200);
    }
  });

  it("limits an address to 30 failed attempts across usernames; successful logins do not use that budget", async () => {
    await newUser("busy-office", "purple-lantern-9");
    for (let i = 0; i < 35; i++) expect((await login("busy-office", "purple-lantern-9", "203.0.113.90")).status, `login ${i}`).toBe(200);
    for (let i = 0; i < 30; i++) expect((await login(`spray-${i}`, "password1", "203.0.113.90")).status, `attempt ${i}`).toBe(401);
    expect(await login("spray-30", "password1", "203.0.113.90")).toEqual({ status: 429, body: TOO_MANY });
    expect((await login("busy-office", "purple-lantern-9", "203.0.113.91")).status).toBe(200);
  });
});

describe("accounts field bounds", () => {
  it("refuses a 600-character username as a field error, not a server error", async () => {
    const res = await login("u".repeat(600), "password1", "203.0.113.95");
    expect(res.status).toBe(400);
    expect(Object.keys(res.body)).toEqual(["username"]);
  });

  it("bounds usernames (150), passwords (4096), emails (254) and refresh tokens (4096) with DRF field errors", async () => {
    const fields = async (path: string, body: Record<string, unknown>, init = {}) => {
      const res = await apiJson(path, body, init);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      return Object.keys(res.body);
    };
    const ip = { headers: { "cf-connecting-ip": "203.0.113.96" } };
    expect(await fields("/api/accounts/login/", { username: "u".repeat(151), password: "password1" }, ip)).toEqual(["username"]);
    expect(await fields("/api/accounts/login/", { username: "someone", password: "p".repeat(4097) }, ip)).toEqual(["password"]);
    expect(await fields("/api/accounts/register/", { username: "u".repeat(151), password: "long-enough-1", password2: "long-enough-1" })).toEqual(["username"]);
    expect(await fields("/api/accounts/register/", { username: "bounded", password: "p".repeat(4097), password2: "p".repeat(4097) })).toEqual(["password", "password2"]);
    expect(await fields("/api/accounts/register/", { username: "bounded", email: `${"e".repeat(243)}@example.com`, password: "long-enough-1", password2: "long-enough-1" })).toEqual(["email"]);
    expect(await fields("/api/accounts/token/refresh/", { refresh: "r".repeat(4097) })).toEqual(["refresh"]);
    const { access } = await newUser("bounded-logout");
    expect(await fields("/api/accounts/logout/", { refresh: "r".repeat(4097) }, { token: access })).toEqual(["refresh"]);
    // At the bounds: accepted as input (a 4096-character password is simply wrong here).
    expect((await apiJson("/api/accounts/login/", { username: "u".repeat(150), password: "p".repeat(4096) }, ip)).status).toBe(401);
  });
});
