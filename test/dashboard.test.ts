import { describe, expect, it } from "vitest";
import { worker } from "./helpers";

describe("operator dashboard", () => {
  it("serves the page, its script and its style with a strict CSP", async () => {
    const page = await worker("/dashboard");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script src="/dashboard/operator.js"></script>');
    expect(html).not.toMatch(/<script>(?!<)/);
    const script = await worker("/dashboard/operator.js");
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(await script.text()).toContain('api("/admin/jobs")');
    expect((await worker("/dashboard/operator.css")).status).toBe(200);
    expect((await worker("/dashboard/other.js")).status).toBe(404);
  });
});
