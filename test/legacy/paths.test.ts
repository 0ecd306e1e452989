import { describe, expect, it } from "vitest";
import { legacySourceUrl, relativeMediaPath, uploadKey } from "../../src/legacy/paths";

const config = { origin: "https://legacy.example.com", mediaUrl: "/media/", mediaRoot: "/app/media" };

describe("legacy source paths", () => {
  it("maps a path under MEDIA_ROOT to a URL on the legacy origin, encoding every segment", () => {
    const rel = relativeMediaPath("/app/media/uploads/Q1 sales #2?.csv", "/app/media");
    expect(rel).toEqual({ ok: true, relativePath: "uploads/Q1 sales #2?.csv" });
    expect(legacySourceUrl("uploads/Q1 sales #2?.csv", config).href).toBe("https://legacy.example.com/media/uploads/Q1%20sales%20%232%3F.csv");
  });

  it.each([
    "/etc/passwd",
    "/app/mediaX/file.csv",
    "/app/media/../secret.csv",
    "/app/media/uploads/./a.csv",
    "/app/media//a.csv",
    "https://evil.example/a.csv",
    "file:///app/media/a.csv",
    "/app/media/a\u0000.csv",
    "/app/media/a\\..\\b.csv",
    "/app/media/uploads/",
  ])("refuses %j", (path) => {
    expect(relativeMediaPath(path, "/app/media")).toMatchObject({ ok: false, reason: "unsafe_path" });
  });

  it("never leaves the configured origin, whatever the relative path holds", () => {
    for (const rel of ["//evil.example/x", "@evil.example/x", "%2e%2e/x", "x:y/z"]) {
      const url = legacySourceUrl(rel, config);
      expect(url.origin).toBe("https://legacy.example.com");
      expect(url.pathname.startsWith("/media/")).toBe(true);
    }
    expect(() => legacySourceUrl("x/../../y", config)).toThrow("refusing to build a source URL");
  });

  it("builds R2 keys from validated ids only", () => {
    expect(uploadKey(7, "3A34BD83-441A-4BE1-A6F2-10579E1BE4B2")).toBe("uploads/user-7/3a34bd83-441a-4be1-a6f2-10579e1be4b2.csv");
    expect(() => uploadKey(0, "3a34bd83-441a-4be1-a6f2-10579e1be4b2")).toThrow();
    expect(() => uploadKey(7, "../../etc/passwd")).toThrow();
  });
});
