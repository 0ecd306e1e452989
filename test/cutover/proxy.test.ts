import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { Gate } from "../../src/cutover/gate";
import { MetricsBuffer } from "../../src/cutover/metrics-buffer";
import { UserDirectory } from "../../src/cutover/user-directory";
import { CutoverStateCache } from "../../src/cutover/state-cache";
import { INITIAL_CUTOVER } from "../../src/cutover/state";
import { originUrl, sha256Hex, worker } from "../helpers";

const MiB = 1024 * 1024;

/** `size` deterministic bytes as a stream, never held whole. */
function body(size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      const n = Math.min(256 * 1024, size - sent);
      const chunk = new Uint8Array(n);
      for (let i = 0; i < n; i++) chunk[i] = (sent + i) % 251;
      sent += n;
      controller.enqueue(chunk);
    },
  });
}

describe("the legacy proxy (everything on legacy at 0 %)", () => {
  it("streams a 12 MiB upload to the legacy origin byte for byte", async () => {
    const size = 12 * MiB + 321;
    const expected = await sha256Hex(body(size));
    const res = await worker("/api/list_cutter/upload/", { method: "POST", body: body(size), headers: { "content-type": "text/csv", "content-length": String(size) } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-served-by")).toBe("legacy");
    expect(await res.json()).toEqual({ bytes: size, sha256: expected });
  });

  it("streams a 12 MiB download from the legacy origin byte for byte", async () => {
    const size = 12 * MiB + 77;
    const direct = await fetch(`${originUrl}/__big?bytes=${size}`);
    const viaGate = await worker(`/__big?bytes=${size}`);
    expect(viaGate.headers.get("x-served-by")).toBe("legacy");
    expect(viaGate.headers.get("content-length")).toBe(String(size));
    expect(await sha256Hex(viaGate.body!)).toBe(await sha256Hex(direct.body!));
  });

  it("strips hop-by-hop headers both ways and sets X-Forwarded-* itself: legacy sees exactly the client address the edge saw", async () => {
    const res = await worker("/__echo?q=1", {
      headers: { connection: "x-client-hop", "x-client-hop": "secret", "keep-alive": "timeout=9", te: "trailers", "proxy-authorization": "Basic x", "x-end-to-end": "kept", "cf-connecting-ip": "203.0.113.5", "x-forwarded-for": "10.1.1.1", forwarded: "for=10.2.2.2", "x-real-ip": "10.3.3.3", "x-forwarded-host": "evil.example" },
    });
    const seen = (await res.json()) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe("/__echo?q=1");
    expect(seen.headers["x-end-to-end"]).toBe("kept");
    for (const hop of ["x-client-hop", "keep-alive", "te", "proxy-authorization", "upgrade"]) expect(seen.headers[hop], hop).toBeUndefined();
    expect(seen.headers["x-forwarded-for"]).toBe("203.0.113.5");
    expect(seen.headers.forwarded).toBeUndefined();
    expect(seen.headers["x-real-ip"]).toBeUndefined();
    expect(seen.headers["x-forwarded-proto"]).toBe("https");
    expect(seen.headers["x-forwarded-host"]).toBe("list-cutter.test");
    expect(res.headers.get("x-legacy-hop")).toBeNull();
    expect(res.headers.get("keep-alive")).toBeNull();
    expect(res.headers.get("x-served-by")).toBe("legacy");
  });

  it("passes redirects through without following them, pointing legacy Locations at us", async () => {
    const res = await worker("/__redirect", { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("https://list-cutter.test/elsewhere?from=legacy");
    expect(res.headers.get("x-served-by")).toBe("legacy");
  });

  it("answers 502 with a JSON error when the legacy origin is unreachable", async () => {
    const gate = new Gate(new CutoverStateCache(async () => INITIAL_CUTOVER, 1_000), new MetricsBuffer(), new UserDirectory(env.DB), async () => new Response("new"));
    const res = await gate.handle(new Request("https://list-cutter.test/api/x"), { ...env, LEGACY_ORIGIN: "http://127.0.0.1:9" }, createExecutionContext());
    expect(res.status).toBe(502);
    expect(res.headers.get("x-served-by")).toBe("legacy");
    expect(await res.json()).toEqual({ error: "legacy origin unreachable" });
  });
});
