import { env, exports } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import fc from "fast-check";
import { inject } from "vitest";
import { describe, expect, it } from "vitest";
import { Gate } from "../../src/cutover/gate";
import { MetricsBuffer } from "../../src/cutover/metrics-buffer";
import { UserDirectory } from "../../src/cutover/user-directory";
import { CutoverStateCache } from "../../src/cutover/state-cache";
import { INITIAL_CUTOVER } from "../../src/cutover/state";
import { originStats, resetOriginStats } from "../helpers";

const decoy = new URL(inject("decoyOrigin"));
const secrets = { cookie: "sessionid=victim-session", authorization: "Bearer victim-token" };

async function decoyHits(): Promise<unknown[]> {
  return (await fetch(`${decoy.origin}/__decoy/hits`)).json();
}

/** A request the way a client on the internet could send it: any path, with the visitor's credentials. */
function send(url: string): Promise<Response> {
  return exports.default.fetch(new Request(url, { headers: { ...secrets, "cf-connecting-ip": "203.0.113.9" }, redirect: "manual" }));
}

const hostForms = [decoy.host, `${decoy.hostname}:${decoy.port}`, `user:pw@${decoy.host}`, `%31%32%37.0.0.2:${decoy.port}`, `${decoy.host}%2f`, `${decoy.host}\\`];
const leadIns = ["//", "/\\", "\\\\", "/..//", "/./..//", "/%2f/", "/%2F%2F", "/%5c", "/%5C%5C", "/.%2e//", "/%2e%2e//", "//%09", "/%09/", "///", "/\t/", "/api/../..//"];

describe("the legacy proxy reaches the legacy origin and nothing else", () => {
  it("sends nothing to another host for crafted request targets (double slashes, backslashes, dot segments, encodings)", async () => {
    await fetch(`${decoy.origin}/__decoy/hits`, { method: "DELETE" });
    const statuses = new Set<number>();
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...leadIns), fc.constantFrom(...hostForms), fc.constantFrom("/x", "/api/accounts/user/", "/?q=1", "#frag", ""), async (lead, host, tail) => {
        const res = await send(`https://list-cutter.test${lead}${host}${tail}`);
        statuses.add(res.status);
        const body = await res.text();
        expect(body).not.toContain("decoy");
        // Either refused here, or answered by the legacy origin itself.
        expect([400, 404, 200]).toContain(res.status);
        if (res.status === 400) expect(JSON.parse(body)).toMatchObject({ field: "path" });
      }),
      { numRuns: 200 },
    );
    // Absolute-form targets: the request URL names another host; only its path may be used.
    for (const url of [`${decoy.origin}/x`, `http://${decoy.host}//${decoy.host}/x`]) expect(await (await send(url)).text()).not.toContain("decoy");
    expect(await decoyHits()).toEqual([]);
    expect(statuses.has(400)).toBe(true);
  });

  it("still forwards ordinary paths and queries, percent-encoded names included", async () => {
    await resetOriginStats();
    for (const path of ["/api/list_cutter/list_saved_files/?page=2&q=a%20b", "/api/list_cutter/download/sales%20report%20%28Q1%29.csv/", "/media/uploads/x.csv"]) {
      const res = await send(`https://list-cutter.test${path}`);
      expect(res.headers.get("x-served-by")).toBe("legacy");
      expect(res.status).toBeLessThan(500);
    }
    expect((await originStats()).requests).toBeGreaterThanOrEqual(1);
  });

  it("refuses the crafted targets with a 400 naming the path", async () => {
    for (const path of ["//127.0.0.2/x", "/api/%2e%2e%2f%2e%2e%2fetc/passwd", "/api/%2f%2fevil/x", "/a%5cb"]) {
      const res = await send(`https://list-cutter.test${path}`);
      expect(res.status, path).toBe(400);
      expect(await res.json()).toMatchObject({ field: "path" });
    }
  });

  it("answers 502 for an unreachable origin without internal error text", async () => {
    const gate = new Gate(new CutoverStateCache(async () => INITIAL_CUTOVER, 1_000), new MetricsBuffer(), new UserDirectory(env.DB), async () => new Response("new"));
    const res = await gate.handle(new Request("https://list-cutter.test/api/x"), { ...env, LEGACY_ORIGIN: "http://127.0.0.1:9" }, createExecutionContext());
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ error: "legacy origin unreachable" });
  });
});
