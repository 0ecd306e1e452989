// A stand-in for the Worker's side of reverse sync: hand-built bundles in the format of
// src/sync/reverse-bundle-format.ts, served by a tiny node:http fake of the operator endpoints the
// applier calls (job list, manifest, parts, file bytes, `applied`), on 127.0.0.1.
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { pbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha256 } from "@noble/hashes/sha2.js";
import Papa from "papaparse";
import { BUNDLE_COLUMNS, BUNDLE_FORMAT, BUNDLE_TABLES, partName, type BundleManifest, type BundleTable } from "../../src/sync/reverse-bundle-format.ts";

export type BundleRow = Record<string, string>;

/** A files row of a bundle, with the bytes the fake serves for it. */
export interface BundleFile {
  row: BundleRow;
  /** The bytes served; `row.size` / `row.sha256` are computed from `declared ?? bytes`. */
  bytes: Buffer;
  declared?: Buffer;
  /** A `row.size` to declare instead of the length of `declared ?? bytes`. */
  declaredSize?: number;
}

export interface BundleSpec {
  jobId: string;
  fromSeq: number;
  toSeq: number;
  /** The legacy LEGACY_MEDIA_ROOT the rows' file_path lie under. */
  mediaRoot: string;
  users?: BundleRow[];
  files?: BundleFile[];
  filters?: BundleRow[];
  deletions?: BundleRow[];
  /** Rows per part (the real PART_ROWS is 1,000; small values make several parts). */
  partRows?: number;
}

export interface Bundle {
  manifest: BundleManifest;
  parts: Map<string, string>;
  files: Map<string, Buffer>;
}

/**
 * A Django `pbkdf2_sha256$<iterations>$<salt>$<base64>` hash, made with @noble/hashes (the library
 * the Worker uses), so that the test can check it with an independent implementation.
 */
export function djangoHash(password: string, salt: string, iterations: number): string {
  const key = pbkdf2(sha256, new TextEncoder().encode(password), new TextEncoder().encode(salt), { c: iterations, dkLen: 32 });
  return `pbkdf2_sha256$${iterations}$${salt}$${Buffer.from(key).toString("base64")}`;
}

export function sha256Hex(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function toCsv(table: BundleTable, rows: BundleRow[]): string {
  const columns = BUNDLE_COLUMNS[table];
  for (const row of rows) {
    const unknown = Object.keys(row).filter((c) => !columns.includes(c));
    if (unknown.length) throw new Error(`fixture: ${table} has no column ${unknown.join(", ")}`);
  }
  return Papa.unparse({ fields: [...columns], data: rows.map((row) => columns.map((c) => row[c] ?? "")) }) + "\r\n";
}

export function buildBundle(spec: BundleSpec): Bundle {
  const perPart = spec.partRows ?? 1_000;
  const files = new Map<string, Buffer>();
  const fileRows = (spec.files ?? []).map(({ row, bytes, declared, declaredSize }) => {
    files.set(row.file_id!, bytes);
    const content = declared ?? bytes;
    return { ...row, size: String(declaredSize ?? content.length), sha256: sha256Hex(content) };
  });
  const rows: Record<BundleTable, BundleRow[]> = { users: spec.users ?? [], files: fileRows, filters: spec.filters ?? [], deletions: spec.deletions ?? [] };
  const parts = new Map<string, string>();
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    jobId: spec.jobId,
    fromSeq: spec.fromSeq,
    toSeq: spec.toSeq,
    createdAt: new Date().toISOString(),
    mediaRoot: spec.mediaRoot,
    parts: { users: [], files: [], filters: [], deletions: [] },
    counts: { users: 0, files: 0, filters: 0, deletions: 0 },
  };
  for (const table of BUNDLE_TABLES) {
    const all = rows[table];
    manifest.counts[table] = all.length;
    // A table without rows still has one part (header only), as the Worker writes it.
    for (let i = 0; i === 0 || i * perPart < all.length; i++) {
      const name = partName(table, i);
      parts.set(name, toCsv(table, all.slice(i * perPart, (i + 1) * perPart)));
      manifest.parts[table].push(name);
    }
  }
  return { manifest, parts, files };
}

export interface JobEntry {
  id: string;
  kind: string;
  state: string;
  createdAt: string;
}

export interface FakeWorker {
  url: string;
  token: string;
  jobs: JobEntry[];
  bundles: Map<string, Bundle>;
  /** Every accepted POST /admin/jobs/:id/applied: the job and its body. */
  applied: { jobId: string; body: unknown }[];
  /** Answer `applied` with this status instead of 200 (null: 200). */
  failApplied: number | null;
  /** Requests refused for a missing or wrong token. */
  unauthorized: number;
  /** Files (by file_id) of a bundle answered 410 Gone: deleted on the new app since the bundle. */
  gone: Set<string>;
  /** Every request: method and path. */
  requests: string[];
  /** Parts (by name) served with this text from their second read on. */
  reread: Map<string, string>;
  close(): Promise<void>;
}

export async function startFakeWorker(token: string): Promise<FakeWorker> {
  const fake: FakeWorker = {
    url: "",
    token,
    jobs: [],
    bundles: new Map(),
    applied: [],
    failApplied: null,
    unauthorized: 0,
    gone: new Set(),
    requests: [],
    reread: new Map(),
    close: async () => undefined,
  };
  const server = createServer((req, res) => {
    handle(fake, req, res).catch((error: Error) => {
      if (!res.headersSent) send(res, 500, { error: error.message });
      else res.destroy(error);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return fake;
}

function send(res: ServerResponse, status: number, body: unknown, type = "application/json"): void {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  res.writeHead(status, { "content-type": type, "content-length": bytes.length });
  res.end(bytes);
}

async function handle(fake: FakeWorker, req: IncomingMessage, res: ServerResponse): Promise<void> {
  fake.requests.push(`${req.method} ${req.url}`);
  if (req.headers.authorization !== `Bearer ${fake.token}`) {
    fake.unauthorized++;
    return send(res, 401, { error: "unauthorized" });
  }
  const path = new URL(req.url ?? "/", "http://fake").pathname;
  if (req.method === "GET" && path === "/admin/jobs") return send(res, 200, { jobs: fake.jobs });

  const match = /^\/admin\/jobs\/([^/]+)\/(bundle|files|applied)(?:\/([^/]+))?$/.exec(path);
  const bundle = match ? fake.bundles.get(decodeURIComponent(match[1]!)) : undefined;
  if (!match || !bundle) return send(res, 404, { error: "not found" });
  const [, jobId, what, arg] = match;

  if (req.method === "POST" && what === "applied" && arg === undefined) {
    let text = "";
    for await (const chunk of req) text += chunk;
    if (fake.failApplied !== null) return send(res, fake.failApplied, { error: "unavailable" });
    fake.applied.push({ jobId: decodeURIComponent(jobId!), body: JSON.parse(text) });
    return send(res, 200, { id: jobId, appliedSeq: (JSON.parse(text) as { toSeq: number }).toSeq });
  }
  if (req.method !== "GET") return send(res, 405, { error: "method not allowed" });
  if (what === "bundle" && arg === undefined) return send(res, 200, bundle.manifest);
  if (what === "bundle") {
    const name = decodeURIComponent(arg!);
    const readBefore = fake.requests.filter((r) => r === `${req.method} ${req.url}`).length > 1;
    const part = readBefore ? (fake.reread.get(name) ?? bundle.parts.get(name)) : bundle.parts.get(name);
    return part === undefined ? send(res, 404, { error: "no such part" }) : send(res, 200, part, "text/csv; charset=utf-8");
  }
  if (what === "files" && arg !== undefined) {
    const bytes = bundle.files.get(decodeURIComponent(arg));
    if (bytes !== undefined && fake.gone.has(decodeURIComponent(arg))) return send(res, 410, { error: "deleted since the bundle was made" });
    return bytes === undefined ? send(res, 404, { error: "no such file" }) : send(res, 200, bytes, "text/csv");
  }
  return send(res, 404, { error: "not found" });
}
