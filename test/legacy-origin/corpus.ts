import { createHash, pbkdf2Sync, timingSafeEqual } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { mulberry32 } from "../../src/lib/mulberry32.ts";

/**
 * A generated legacy corpus: users with real Django pbkdf2_sha256 hashes, CSV files of varied size
 * and shape on disk under a MEDIA_ROOT, and the psql-style export CSVs that describe them.
 */

export interface CorpusUser {
  id: number;
  username: string;
  email: string;
  password: string;
  passwordHash: string;
}

export interface CorpusFile {
  id: number;
  userId: number;
  fileId: string;
  fileName: string;
  /** Absolute legacy path, as list_cutter_savedfile.file_path holds it. */
  filePath: string;
  /** Path relative to MEDIA_ROOT. */
  relativePath: string;
  size: number;
  sha256: string;
  rows: number;
  columns: string[];
  oversize: boolean;
}

export interface CorpusFilter {
  id: number;
  userId: number;
  fileId: string;
  name: string;
}

export interface Corpus {
  mediaRoot: string;
  users: CorpusUser[];
  files: CorpusFile[];
  filters: CorpusFilter[];
}

export interface CorpusOptions {
  /** Directory that plays the legacy server's MEDIA_ROOT on disk. */
  diskRoot: string;
  /** MEDIA_ROOT as the legacy database recorded it. */
  mediaRoot: string;
  users: number;
  /** Ordinary files (plus the special-shape ones and the two size-limit ones). */
  files: number;
  maxFileSize: number;
  /** Django's default is far higher; a lower count keeps generation fast and the format identical. */
  pbkdf2Iterations?: number;
  seed?: number;
}

export function djangoHash(password: string, salt: string, iterations: number): string {
  const hash = pbkdf2Sync(password, salt, iterations, 32, "sha256").toString("base64");
  return `pbkdf2_sha256$${iterations}$${salt}$${hash}`;
}

/** Checks a Django pbkdf2_sha256 hash with node:crypto (independent of the Worker's WebCrypto / @noble/hashes). */
export function verifyDjangoHash(password: string, encoded: string): boolean {
  const match = /^pbkdf2_sha256\$(\d+)\$([^$]+)\$([A-Za-z0-9+/]{43}=)$/.exec(encoded);
  if (!match) return false;
  return timingSafeEqual(pbkdf2Sync(password, match[2]!, Number(match[1]), 32, "sha256"), Buffer.from(match[3]!, "base64"));
}

function uuidFrom(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** A CSV of roughly `targetBytes`, with a header and numeric, text and empty cells. */
function csvBody(random: () => number, targetBytes: number, style: "plain" | "crlf" | "quoted" | "unicode"): { text: string; rows: number; columns: string[] } {
  const columns = ["id", "name", "city", "amount", "joined", "notes"];
  const eol = style === "crlf" ? "\r\n" : "\n";
  const cities = ["Lisbon", "Oslo", "Nairobi", "Lima", "Osaka", "Tromsø", "Zürich"];
  const parts: string[] = [columns.join(",") + eol];
  let size = Buffer.byteLength(parts[0]!);
  let rows = 0;
  while (size < targetBytes) {
    rows++;
    const amount = random() < 0.1 ? "n/a" : (random() * 10000).toFixed(2);
    let notes = random() < 0.2 ? "" : `note ${Math.floor(random() * 1e6)}`;
    if (style === "quoted" && rows % 3 === 0) notes = `"multi-line ""quoted"" note,\nwith a comma"`;
    if (style === "unicode") notes = `名前 ${rows} — café`;
    const city = cities[Math.floor(random() * cities.length)]!;
    const line = `${rows},Person ${rows},${city},${amount},2024-0${1 + (rows % 9)}-1${rows % 10},${notes}${eol}`;
    parts.push(line);
    size += Buffer.byteLength(line);
  }
  return { text: parts.join(""), rows, columns };
}

export function generateCorpus(options: CorpusOptions): Corpus {
  const random = mulberry32(options.seed ?? 42);
  const iterations = options.pbkdf2Iterations ?? 1_000;
  const users: CorpusUser[] = [];
  for (let i = 1; i <= options.users; i++) {
    const password = `pw-${i}-${Math.floor(random() * 1e9).toString(36)}`;
    const salt = Math.floor(random() * 1e12).toString(36).padEnd(12, "x");
    users.push({ id: i, username: `user${i}`, email: `user${i}@example.com`, password, passwordHash: djangoHash(password, salt, iterations) });
  }

  const uploads = join(options.diskRoot, "uploads");
  mkdirSync(uploads, { recursive: true });
  const plan: { target: number; style: "plain" | "crlf" | "quoted" | "unicode"; oversize?: boolean }[] = [];
  for (let i = 0; i < options.files; i++) plan.push({ target: Math.floor(200 + random() ** 3 * 200_000), style: "plain" });
  plan.push({ target: 3_000, style: "crlf" }, { target: 5_000, style: "quoted" }, { target: 4_000, style: "unicode" }, { target: 0, style: "plain" });
  plan.push({ target: options.maxFileSize - 4_096, style: "plain" });
  plan.push({ target: options.maxFileSize + 4_096, style: "plain", oversize: true });

  const files: CorpusFile[] = plan.map((p, index) => {
    const id = index + 1;
    const userId = users[index % users.length]!.id;
    const fileId = uuidFrom(random);
    const body = csvBody(random, p.target, p.style);
    const fileName = index === 1 ? `sales report (Q${index}), "final".csv` : `list_${id}.csv`;
    const relativePath = `uploads/${fileId.slice(0, 8)}_${id}.csv`;
    const bytes = Buffer.from(body.text, "utf8");
    writeFileSync(join(options.diskRoot, relativePath), bytes);
    return {
      id,
      userId,
      fileId,
      fileName,
      filePath: `${options.mediaRoot}/${relativePath}`,
      relativePath,
      size: bytes.length,
      sha256: createHash("sha256").update(bytes).digest("hex"),
      rows: body.rows,
      columns: body.columns,
      oversize: p.oversize ?? false,
    };
  });

  const filters: CorpusFilter[] = files.slice(0, 5).map((f, i) => ({ id: 100 + i, userId: f.userId, fileId: f.fileId, name: `filter ${i + 1}` }));
  return { mediaRoot: options.mediaRoot, users, files, filters };
}

function csvCell(value: string | number | null): string {
  if (value === null) return "";
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(header: string[], rows: (string | number | null)[][]): string {
  return [header, ...rows].map((r) => r.map(csvCell).join(",")).join("\n") + "\n";
}

/** The export CSVs as `psql \copy ... CSV HEADER` writes them (t/f booleans, array and JSON text). */
export function exportCsv(corpus: Corpus, table: "users" | "files" | "filters", files: CorpusFile[] = corpus.files): string {
  if (table === "users") {
    return toCsv(
      ["id", "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email", "is_staff", "is_active", "date_joined"],
      corpus.users.map((u) => [u.id, u.passwordHash, u.id % 2 ? "2024-05-01 10:00:00.123+00" : null, u.id === 1 ? "t" : "f", u.username, `First${u.id}`, `Last ${u.id}`, u.email, "f", "t", "2023-01-02 03:04:05+00"]),
    );
  }
  if (table === "files") {
    return toCsv(
      ["id", "user_id", "file_id", "file_name", "file_path", "uploaded_at", "system_tags", "user_tags", "metadata"],
      files.map((f) => [
        f.id,
        f.userId,
        f.fileId,
        f.fileName,
        f.filePath,
        "2024-02-03 04:05:06.789+00",
        f.id % 4 === 0 ? "{generated}" : "{}",
        `{imported,"tag ${f.id}"}`,
        JSON.stringify({ size: f.size, source: "upload", note: "a, \"quoted\" value" }),
      ]),
    );
  }
  return toCsv(
    ["id", "user_id", "file_id", "name", "description", "filter_config", "created_at"],
    corpus.filters.map((f) => [f.id, f.userId, f.fileId, f.name, "", JSON.stringify({ amount: "> 100" }), "2024-03-01 00:00:00+00"]),
  );
}
