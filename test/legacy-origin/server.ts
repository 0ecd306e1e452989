import { createHash, randomUUID } from "node:crypto";
import { createReadStream, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import { join, normalize } from "node:path";
import { LEGACY_PAGE, TEST_LEGACY_JWT_SECRET } from "../config.ts";
import { createAccounts } from "./accounts.ts";
import type { Corpus, CorpusFile } from "./corpus.ts";
import { exportCsv } from "./corpus.ts";

/**
 * The fixture legacy origin: serves MEDIA_ROOT under /media/ like the Django deployment, with
 * switchable faults, the accounts API of Django + simplejwt (accounts.ts; its users are controlled
 * with GET/PUT /__accounts), plus a small control API (/__*) for the tests.
 */

export type FaultKind = "status" | "slow" | "truncate" | "wrong-length" | "reset" | "chunked";

export interface FaultRule {
  /** Applies to media paths containing this text. */
  match: string;
  kind: FaultKind;
  /** For kind "status". */
  status?: number;
  /** For kind "slow": pause between 16 KiB chunks. */
  delayMs?: number;
  /** Fire this many times, then serve normally (default: always). */
  times?: number;
}

export interface OriginStats {
  requests: number;
  inFlight: number;
  maxInFlight: number;
  byPath: Record<string, number>;
  /** Requests answered by the accounts API (accounts.ts), by path. */
  accounts: Record<string, number>;
}

export interface LegacyOriginOptions {
  /** Django's SECRET_KEY: signs and verifies the HS256 tokens (default TEST_LEGACY_JWT_SECRET). */
  secretKey?: string;
}

export interface LegacyOrigin {
  url: string;
  close(): Promise<void>;
}

export async function startLegacyOrigin(corpus: Corpus, diskRoot: string, port = 0, options: LegacyOriginOptions = {}): Promise<LegacyOrigin> {
  let faults: (FaultRule & { fired: number })[] = [];
  let stats: OriginStats = { requests: 0, inFlight: 0, maxInFlight: 0, byPath: {}, accounts: {} };
  const accounts = createAccounts(corpus, options.secretKey ?? TEST_LEGACY_JWT_SECRET);

  // Files added while a test runs (legacy writes during a canary), in exports asked for with ?extras=1.
  let extras: CorpusFile[] = [];
  function addExtraFile(): CorpusFile {
    const id = 10_000 + extras.length + 1;
    const fileId = randomUUID();
    const relativePath = `uploads/extra_${fileId.slice(0, 8)}_${id}.csv`;
    const bytes = Buffer.from(`id,added\n${id},during the canary\n`, "utf8");
    writeFileSync(join(diskRoot, relativePath), bytes);
    const file: CorpusFile = { id, userId: corpus.users[id % corpus.users.length]!.id, fileId, fileName: `extra_${id}.csv`, filePath: `${corpus.mediaRoot}/${relativePath}`, relativePath, size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex"), rows: 1, columns: ["id", "added"], oversize: false };
    extras.push(file);
    return file;
  }

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://origin");
    try {
      if (url.pathname.startsWith("/media/")) return serveMedia(url.pathname.slice("/media/".length), req, res);
      if (url.pathname === "/__corpus") return json(res, corpus);
      if (url.pathname === "/__upload" || url.pathname === "/api/list_cutter/upload/") return hashUpload(req, res);
      if (url.pathname === "/__big") return serveGenerated(Number(url.searchParams.get("bytes") ?? 0), res);
      if (url.pathname === "/__echo") {
        res.setHeader("connection", "x-legacy-hop, keep-alive");
        res.setHeader("x-legacy-hop", "for this connection only");
        res.setHeader("keep-alive", "timeout=5");
        return json(res, { method: req.method, url: req.url, headers: req.headers });
      }
      if (url.pathname === "/__redirect") {
        res.writeHead(302, { location: `http://127.0.0.1:${(server.address() as { port: number }).port}/elsewhere?from=legacy` });
        return res.end();
      }
      if (url.pathname === "/__accounts") return await accounts.control(req, res);
      if (await accounts.handle(req, res, url.pathname)) {
        stats.accounts[url.pathname] = (stats.accounts[url.pathname] ?? 0) + 1;
        return;
      }
      if (url.pathname.startsWith("/api/")) return json(res, { servedBy: "legacy", method: req.method, path: url.pathname });
      if (url.pathname.startsWith("/__exports/")) {
        const table = url.pathname.slice("/__exports/".length).replace(/\.csv$/, "") as "users" | "files" | "filters";
        if (!["users", "files", "filters"].includes(table)) return json(res, { error: "unknown table" }, 404);
        const which = url.searchParams.get("files") ?? "main";
        const files = [...(which === "all" ? corpus.files : corpus.files.filter((f) => !f.oversize)), ...(url.searchParams.get("extras") === "1" ? extras : [])];
        res.writeHead(200, { "content-type": "text/csv" });
        return res.end(exportCsv(corpus, table, files));
      }
      if (url.pathname === "/__extra-files" && req.method === "POST") {
        const { count } = JSON.parse(await readBody(req)) as { count: number };
        const added = Array.from({ length: count }, () => addExtraFile());
        return json(res, { added });
      }
      if (url.pathname === "/__extra-files" && req.method === "DELETE") {
        extras = [];
        return json(res, { extras });
      }
      if (url.pathname === "/__faults" && req.method === "PUT") {
        faults = (JSON.parse(await readBody(req)) as FaultRule[]).map((f: FaultRule) => ({ ...f, fired: 0 }));
        return json(res, { faults });
      }
      if (url.pathname === "/__faults" && req.method === "DELETE") {
        faults = [];
        return json(res, { faults });
      }
      if (url.pathname === "/__stats" && req.method === "GET") return json(res, stats);
      if (url.pathname === "/__stats" && req.method === "DELETE") {
        stats = { requests: 0, inFlight: stats.inFlight, maxInFlight: stats.inFlight, byPath: {}, accounts: {} };
        return json(res, stats);
      }
      // Legacy's own pages (its front end): any other page path a browser may ask for.
      if (req.method === "GET" && !url.pathname.startsWith("/__")) {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        return res.end(LEGACY_PAGE);
      }
      json(res, { error: "not found" }, 404);
    } catch (e) {
      json(res, { error: String(e) }, 500);
    }
  });

  function serveMedia(relative: string, req: http.IncomingMessage, res: http.ServerResponse) {
    const decoded = decodeURIComponent(relative);
    stats.requests++;
    stats.byPath[decoded] = (stats.byPath[decoded] ?? 0) + 1;
    stats.inFlight++;
    stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
    let counted = true;
    const done = () => {
      if (counted) stats.inFlight--;
      counted = false;
    };
    res.on("close", done);

    if (decoded.startsWith("synthetic/")) {
      // Files that exist only in a generated export (the 100,000-item benchmark): a tiny CSV each.
      const body = `id,path\n1,${decoded.replace(/[^\w./-]/g, "")}\n`;
      res.writeHead(200, { "content-type": "text/csv", "content-length": Buffer.byteLength(body) });
      return res.end(body);
    }
    const path = normalize(join(diskRoot, decoded));
    if (!path.startsWith(diskRoot + "/")) return json(res, { error: "outside media root" }, 403);
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      return json(res, { error: "not found" }, 404);
    }
    const fault = faults.find((f) => decoded.includes(f.match) && (f.times === undefined || f.fired < f.times));
    if (fault) fault.fired++;
    switch (fault?.kind) {
      case "status":
        return json(res, { error: "injected" }, fault.status ?? 500);
      case "reset":
        return req.socket.destroy();
      case "truncate": {
        res.writeHead(200, { "content-type": "text/csv", "content-length": size });
        const half = createReadStream(path, { start: 0, end: Math.max(0, Math.floor(size / 2) - 1) });
        half.on("data", (c) => res.write(c));
        half.on("end", () => setTimeout(() => req.socket.destroy(), 20));
        return;
      }
      case "wrong-length": {
        res.writeHead(200, { "content-type": "text/csv", "content-length": size + 100 });
        const all = createReadStream(path);
        all.on("data", (c) => res.write(c));
        all.on("end", () => setTimeout(() => req.socket.destroy(), 20));
        return;
      }
      case "chunked":
        // No Content-Length: the body arrives chunked and its size is only known at the end.
        res.writeHead(200, { "content-type": "text/csv" });
        createReadStream(path).pipe(res);
        return;
      case "slow": {
        res.writeHead(200, { "content-type": "text/csv", "content-length": size });
        const stream = createReadStream(path, { highWaterMark: 16 * 1024 });
        stream.on("data", (chunk) => {
          stream.pause();
          res.write(chunk);
          setTimeout(() => stream.resume(), fault.delayMs ?? 1_000);
        });
        stream.on("end", () => res.end());
        res.on("close", () => stream.destroy());
        return;
      }
      default:
        res.writeHead(200, { "content-type": "text/csv", "content-length": size });
        createReadStream(path).pipe(res);
    }
  }

  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Reads an upload as a stream and answers with its size and SHA-256 (nothing is kept). */
function hashUpload(req: http.IncomingMessage, res: http.ServerResponse) {
  const hash = createHash("sha256");
  let bytes = 0;
  req.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
    hash.update(chunk);
  });
  req.on("end", () => json(res, { bytes, sha256: hash.digest("hex") }));
}

/** `bytes` of deterministic pseudo-random data, streamed with a Content-Length. */
export function generatedBytes(bytes: number, onChunk: (chunk: Buffer) => void): void {
  let seed = 12345;
  for (let sent = 0; sent < bytes; ) {
    const n = Math.min(64 * 1024, bytes - sent);
    const chunk = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) chunk[i] = (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    onChunk(chunk);
    sent += n;
  }
}

function serveGenerated(bytes: number, res: http.ServerResponse) {
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes });
  generatedBytes(bytes, (chunk) => res.write(chunk));
  res.end();
}

function json(res: http.ServerResponse, body: unknown, status = 200) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

