import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { api, newUser } from "../helpers";

const login = (body: BodyInit, headers: Record<string, string> = {}) => api("/api/accounts/login/", { method: "POST", body, headers: { "content-type": "application/json", ...headers } });

describe("JSON bodies of public routes", () => {
  it("are bounded: an oversize body is a 413 naming the body, declared or streamed", async () => {
    const big = JSON.stringify({ username: "a", password: "x".repeat(200_000) });
    const declared = await login(big);
    expect(declared.status).toBe(413);
    const streamed = await login(new Blob([big]).stream(), { "content-length": "" });
    expect(streamed.status).toBe(413);
  });

  it("must be UTF-8: other bytes are a 400, not a 500", async () => {
    const res = await login(new Uint8Array([0x7b, 0x22, 0x75, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]));
    expect(res.status).toBe(400);
  });

  it("refuse nesting deep enough to overflow a recursive serialiser, in linear time", async () => {
    const { access } = await newUser("deep-json");
    const deep = "[".repeat(30_000) + "]".repeat(30_000);
    const started = performance.now();
    const res = await api("/api/list_cutter/filters/", { method: "POST", token: access, body: `{"name":"x","filter_config":{"a":${deep}}}` });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ detail: expect.stringMatching(/nested deeper/) });
    expect(performance.now() - started).toBeLessThan(500);
  });

  it("never answer 5xx for arbitrary bytes or JSON values", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.json().map((j) => new TextEncoder().encode(j))), async (bytes) => {
        const res = await login(bytes);
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 60 },
    );
  });
});
