import { describe, expect, it } from "vitest";
import { worker } from "./helpers";

/** The page's ES modules: operator.js and what it imports (test/node/dashboard.test.ts drives them in a browser). */
const MODULES = ["operator", "alerts", "api", "audit", "charts", "cutover", "dialog", "dom", "failures", "format", "jobs", "run", "traffic"];

describe("operator dashboard", () => {
  it("serves the page, its modules and its style with a strict CSP", async () => {
    const page = await worker("/dashboard");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/dashboard/operator.js"></script>');
    expect(html).not.toMatch(/<script>(?!<)/);
    // style-src 'self' without 'unsafe-inline': a style attribute would be refused by the browser.
    expect(html).not.toMatch(/\sstyle=/);
    expect((await worker("/dashboard/operator.css")).status).toBe(200);
    expect((await worker("/dashboard/other.js")).status).toBe(404);
  });

  it("serves every module the page imports, none of which parses markup", async () => {
    const sources = new Map<string, string>();
    for (const name of MODULES) {
      const res = await worker(`/dashboard/${name}.js`);
      expect(res.status, name).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
      expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
      sources.set(name, await res.text());
    }
    for (const [name, source] of sources) {
      for (const [, imported] of source.matchAll(/from "\.\/([\w-]+)\.js"/g)) expect(MODULES, `${name}.js imports ${imported}.js`).toContain(imported);
      expect(source, `${name}.js`).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\.setAttribute\("style"/);
    }
    expect(sources.get("operator")).toContain('api("/admin/jobs")');
  });
});
