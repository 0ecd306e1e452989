import { describe, expect, it } from "vitest";
import { TEST_ADMIN_TOKEN } from "../config";
import { admin, worker } from "../helpers";

const ROUTES: [string, string][] = [
  ["PUT", "/admin/exports/set1/users"],
  ["GET", "/admin/exports/set1"],
  ["POST", "/admin/jobs"],
  ["GET", "/admin/jobs"],
  ["GET", "/admin/jobs/00000000-0000-4000-8000-000000000000"],
  ["GET", "/admin/jobs/00000000-0000-4000-8000-000000000000/failures"],
  ["POST", "/admin/jobs/00000000-0000-4000-8000-000000000000/pause"],
  ["GET", "/admin/no-such-route"],
];

describe("operator API authentication", () => {
  it.each(ROUTES)("%s %s is 401 without a token, with a wrong one, or with another scheme", async (method, path) => {
    const attempts: (string | null)[] = [null, "Bearer wrong-token", `Bearer ${TEST_ADMIN_TOKEN}x`, `Bearer ${TEST_ADMIN_TOKEN.slice(0, -1)}`, `Basic ${btoa(`admin:${TEST_ADMIN_TOKEN}`)}`, "Bearer"];
    for (const authorization of attempts) {
      const res = await worker(path, { method, headers: authorization ? { authorization } : {}, body: method === "GET" ? undefined : "x" });
      expect(res.status, `${authorization}`).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
      expect(await res.json()).toEqual({ error: "missing or invalid bearer token" });
    }
  });

  it("lets the right token through", async () => {
    const res = await admin("/admin/jobs");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ jobs: [] });
  });

  it("serves /health without a token", async () => {
    const res = await worker("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "healthy", checks: { d1: "ok", r2: "ok", coordinator: "ok", cutoverState: "ok" }, cutover: { phase: "legacy", percent: 0 } });
  });
});
