// Issue #13 end to end: a canary's writes survive a rollback. The real Worker under `wrangler dev`
// (./stack.ts) migrates the fixture corpus, takes writes from a new user and a migrated one at 100 %,
// is rolled back, holds those writers on the new app, bundles their writes in a `reverse` job, and
// `npm run reverse-sync` (the real script, as a child process) applies the bundle to a real
// PostgreSQL (PGlite loaded with scripts/legacy-schema.sql and the corpus, served over the wire by
// pglite-socket) and a media directory holding the corpus files; then the writers move to legacy.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import Papa from "papaparse";
import { exportCsv, verifyDjangoHash, type Corpus, type CorpusFile } from "../legacy-origin/corpus.ts";
import { show, spawnApplier, type Run } from "./applier-process.ts";
import { STACK_ADMIN_TOKEN, startStack, type Stack } from "./stack.ts";

const PORT = 8789;
const root = new URL("../..", import.meta.url).pathname;
/** The gate's state cache in this stack; a change reaches every request within one TTL and one read. */
const TTL_MS = 1_000;
const CACHE_WAIT_MS = TTL_MS + 500;
/** New password hashes: Django's format, a cheaper work factor than production's 600,000. */
const PASSWORD_ITERATIONS = 20_000;
const EXPORT_SET = "round-trip";
/** The new app numbers its own rows above this. */
const NEW_APP_ID_FLOOR = 1_000_000_000;
const TERMINAL = ["completed", "completed_with_failures", "failed", "cancelled"];

const NEW_USER = { username: "canary_newbie", email: "newbie@canary.example", password: "tangerine-orbit-4417-quasar" };
const UPLOAD_NAME = "canary list (Q4).csv";
const UPLOAD_BYTES = Buffer.from("name,city,amount\n" + Array.from({ length: 400 }, (_, i) => `Zoë ${i},Kraków ✓,${i * 3}.50\n`).join(""));
const NEW_TAGS = ["canary", "q4 review"];
const FILTER = { name: "Big amounts", description: 'made during the "canary"', filter_config: { amount: "> 500", columns: ["name", "amount"] } };

const sha256Hex = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

// ── the legacy side: PostgreSQL and the media directory ──────────────────────────────────────

interface Legacy {
  db: PGlite;
  server: PGLiteSocketServer;
  databaseUrl: string;
  media: string;
  stop(): Promise<void>;
}

/** One export CSV's rows as text (psql's literals), empty cells as NULL where the column is nullable. */
function exportRows(corpus: Corpus, table: "users" | "files" | "filters"): Record<string, string>[] {
  const parsed = Papa.parse<Record<string, string>>(exportCsv(corpus, table, corpus.files), { header: true, skipEmptyLines: true });
  assert.deepEqual(parsed.errors, [], `setup: the corpus's ${table} export parses`);
  return parsed.data;
}

/** The corpus as legacy holds it (every file, with the ids and literals of its exports), and its media files. */
async function startLegacy(corpus: Corpus, corpusDir: string): Promise<Legacy> {
  const dir = mkdtempSync(join(tmpdir(), "round-trip-legacy-"));
  const media = join(dir, "media");
  mkdirSync(media);
  const db = await PGlite.create();
  try {
    await db.exec(readFileSync(join(root, "scripts/legacy-schema.sql"), "utf8"));
    const insert = async (table: string, columns: string[], rows: Record<string, string>[], nullable: string[] = []) => {
      for (const row of rows) {
        await db.query(
          `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(", ")})`,
          columns.map((c) => (row[c] === "" && nullable.includes(c) ? null : row[c])),
        );
      }
    };
    // Explicit ids, as a restore leaves them: the id sequences have not moved.
    await insert("auth_user", ["id", "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email", "is_staff", "is_active", "date_joined"], exportRows(corpus, "users"), ["last_login"]);
    await insert("list_cutter_savedfile", ["id", "user_id", "file_id", "file_name", "file_path", "uploaded_at", "system_tags", "user_tags", "metadata"], exportRows(corpus, "files"));
    await insert("list_cutter_savedfilter", ["id", "user_id", "file_id", "name", "description", "filter_config", "created_at"], exportRows(corpus, "filters"));
    for (const file of corpus.files) {
      mkdirSync(dirname(join(media, file.relativePath)), { recursive: true });
      copyFileSync(join(corpusDir, file.relativePath), join(media, file.relativePath));
    }
  } catch (e) {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 4 });
  await server.start();
  return {
    db,
    server,
    databaseUrl: `postgres://postgres@${server.getServerConn()}/postgres`,
    media,
    async stop() {
      await server.stop();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Row = Record<string, unknown>;
type Snapshot = { auth_user: Row[]; list_cutter_savedfile: Row[]; list_cutter_savedfilter: Row[]; bookkeeping: Row[] };

async function snapshot(db: PGlite): Promise<Snapshot> {
  const rows = async (table: string) => (await db.query<{ r: Row }>(`SELECT to_jsonb(t) AS r FROM ${table} t ORDER BY id`)).rows.map((row) => row.r);
  const present = (await db.query<{ present: boolean }>("SELECT to_regclass('list_cutter_reverse_sync') IS NOT NULL AS present")).rows[0]?.present;
  return {
    auth_user: await rows("auth_user"),
    list_cutter_savedfile: await rows("list_cutter_savedfile"),
    list_cutter_savedfilter: await rows("list_cutter_savedfilter"),
    bookkeeping: present ? (await db.query<Row>("SELECT job_id, from_seq::int AS from_seq, to_seq::int AS to_seq FROM list_cutter_reverse_sync ORDER BY to_seq")).rows : [],
  };
}

/** Every file under the media dir: SHA-256 and mtime (a rewrite shows). */
function mediaListing(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path);
      else out[path] = `${sha256Hex(readFileSync(join(dir, path)))} @${statSync(join(dir, path)).mtimeMs}`;
    }
  };
  walk("");
  return out;
}



/** `npm run reverse-sync` against the stack and the legacy database, as a child process. */
function runApplier(stack: Stack, legacy: Legacy, extra: string[]): Promise<Run> {
  const args = ["scripts/reverse-sync.ts", "--worker", stack.worker.url, "--token", STACK_ADMIN_TOKEN, "--database-url", legacy.databaseUrl, "--media-root", legacy.media, "--legacy-media-root", stack.corpus.mediaRoot, ...extra];
  return spawnApplier(args);
}

// ── the Worker: operator API and the app through the gate ────────────────────────────────────

interface Answer {
  status: number;
  servedBy: string | null;
  body: any;
  text: string;
}

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: res.status, servedBy: res.headers.get("x-served-by"), body, text };
}

const describe = (what: string, a: Answer) => `${what} → ${a.status} (x-served-by ${a.servedBy}): ${a.text.slice(0, 600)}`;

test("a canary's writes survive a rollback: held back, bundled, applied to PostgreSQL and the media dir exactly once, then the writers move to legacy", { timeout: 170_000 }, async () => {
  const stack = await startStack(PORT, { CUTOVER_CACHE_TTL_MS: String(TTL_MS), PASSWORD_ITERATIONS: String(PASSWORD_ITERATIONS) });
  let legacy: Legacy | null = null;
  const base = stack.worker.url;

  const admin = async (method: string, path: string, body?: unknown): Promise<Answer> =>
    answer(await fetch(`${base}/admin${path}`, { method, headers: { authorization: `Bearer ${STACK_ADMIN_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) }, body: body === undefined ? undefined : JSON.stringify(body) }));
  const waitForJob = async (step: string, id: string, timeoutMs = 60_000): Promise<any> => {
    const deadline = Date.now() + timeoutMs;
    let last: Answer | null = null;
    while (Date.now() < deadline) {
      last = await admin("GET", `/jobs/${id}`);
      assert.equal(last.status, 200, describe(`${step}: GET /admin/jobs/${id}`, last));
      if (TERMINAL.includes(last.body.state)) return last.body;
      await sleep(250);
    }
    assert.fail(`${step}: job ${id} did not finish within ${timeoutMs} ms; last view: ${last?.text}`);
  };
  const cutover = async (step: string): Promise<any> => {
    const a = await admin("GET", "/cutover");
    assert.equal(a.status, 200, describe(`${step}: GET /admin/cutover`, a));
    return a.body;
  };

  /** Every app request of the canary, with the side that served it. */
  const canaryLog: string[] = [];
  const app = async (method: string, path: string, init: { token?: string; json?: unknown; form?: FormData } = {}): Promise<Answer> => {
    const headers: Record<string, string> = {};
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    if (init.json !== undefined) headers["content-type"] = "application/json";
    const body = init.form ?? (init.json === undefined ? undefined : JSON.stringify(init.json));
    return answer(await fetch(`${base}${path}`, { method, headers, body }));
  };
  /** A canary request: must be answered `status` by the new app. */
  const onNewApp = async (step: string, method: string, path: string, status: number, init: Parameters<typeof app>[2] = {}): Promise<Answer> => {
    const a = await app(method, path, init);
    canaryLog.push(`${method} ${path} → ${a.status} ${a.servedBy}`);
    assert.equal(a.servedBy, "workers", describe(`${step}: ${method} ${path} was not served by the new app`, a));
    assert.equal(a.status, status, describe(`${step}: ${method} ${path}`, a));
    return a;
  };
  const login = async (step: string, username: string, password: string, side: "workers" | "legacy"): Promise<{ access: string; refresh: string }> => {
    const a = await app("POST", "/api/accounts/login/", { json: { username, password } });
    if (side === "workers") canaryLog.push(`POST /api/accounts/login/ (${username}) → ${a.status} ${a.servedBy}`);
    assert.equal(a.servedBy, side, describe(`${step}: login of ${username} should be served by ${side}`, a));
    assert.equal(a.status, 200, describe(`${step}: login of ${username}`, a));
    return a.body;
  };
  /** GET /api/accounts/user/ with a token: the side that serves it (and its status). */
  const whoServes = async (token: string): Promise<Answer> => app("GET", "/api/accounts/user/", { token });

  try {
    // ── 1. Legacy as it stands: the corpus in PostgreSQL and its files in a media dir ─────────
    const { corpus } = stack;
    legacy = await startLegacy(corpus, stack.mediaDir);
    const [writer, idle] = corpus.users as [Corpus["users"][number], Corpus["users"][number]];
    const owned = (userId: number) => corpus.files.filter((f) => f.userId === userId && !f.oversize);
    const filtered = new Set(corpus.filters.map((f) => f.fileId));
    const writerFiles = owned(writer.id);
    // Tag one of the writer's files, delete another that no saved filter names, file a filter on a third.
    const tagged: CorpusFile | undefined = writerFiles.find((f) => f.size > 0);
    const deleted: CorpusFile | undefined = writerFiles.find((f) => f !== tagged && !filtered.has(f.fileId));
    const filterFile: CorpusFile | undefined = writerFiles.find((f) => f !== tagged && f !== deleted);
    assert.ok(tagged && deleted && filterFile, `setup: ${writer.username} needs three migrated files (has ${writerFiles.map((f) => f.id).join(", ")})`);

    // ── 2. Migrate: the exports, then a full job ──────────────────────────────────────────────
    for (const table of ["users", "files", "filters"]) {
      const csv = await (await fetch(`${stack.origin.url}/__exports/${table}.csv`)).text();
      const a = await answer(await fetch(`${base}/admin/exports/${EXPORT_SET}/${table}`, { method: "PUT", headers: { authorization: `Bearer ${STACK_ADMIN_TOKEN}`, "content-type": "text/csv" }, body: csv }));
      assert.equal(a.status, 201, describe(`migrate: PUT /admin/exports/${EXPORT_SET}/${table}`, a));
    }
    const full = await admin("POST", "/jobs", { kind: "full", exportSet: EXPORT_SET });
    assert.equal(full.status, 201, describe("migrate: POST /admin/jobs full", full));
    const fullJob = await waitForJob("migrate", full.body.id);
    assert.equal(fullJob.state, "completed", `migrate: the full job ended ${fullJob.state}: ${JSON.stringify(fullJob)}`);

    // ── 3. Canary at 100 %: a new user and a migrated one write through the gate ──────────────
    await stack.patchCutover({ percent: 100, thresholds: { errorRate: 1, p95Ms: 600_000 } });
    await sleep(CACHE_WAIT_MS);
    await onNewApp("canary", "POST", "/api/accounts/register/", 201, { json: { ...NEW_USER, password2: NEW_USER.password } });
    const newbie = await login("canary", NEW_USER.username, NEW_USER.password, "workers");
    const newbieMe = await onNewApp("canary", "GET", "/api/accounts/user/", 200, { token: newbie.access });
    const newUserId = newbieMe.body.id as number;
    assert.ok(Number.isSafeInteger(newUserId) && newUserId > NEW_APP_ID_FLOOR, `canary: the registered user's id ${newUserId} is in the new app's range`);
    const form = new FormData();
    form.append("file", new Blob([UPLOAD_BYTES], { type: "text/csv" }), UPLOAD_NAME);
    const uploaded = await onNewApp("canary", "POST", "/api/list_cutter/upload/", 200, { token: newbie.access, form });
    const uploadFileId = uploaded.body.file_id as string;
    const listed = await onNewApp("canary", "GET", "/api/list_cutter/list_saved_files/", 200, { token: newbie.access });
    const uploadRow = (listed.body.files as any[]).find((f) => f.file_id === uploadFileId);
    assert.ok(uploadRow, `canary: the upload is listed: ${listed.text}`);
    const uploadId = uploadRow.id as number;
    assert.ok(uploadId > NEW_APP_ID_FLOOR, `canary: the upload's id ${uploadId} is in the new app's range`);

    const writerTokens = await login("canary", writer.username, writer.password, "workers");
    await onNewApp("canary", "PATCH", `/api/list_cutter/update_tags/${tagged.id}/`, 200, { token: writerTokens.access, json: { user_tags: NEW_TAGS } });
    const createdFilter = await onNewApp("canary", "POST", "/api/list_cutter/filters/", 201, { token: writerTokens.access, json: { ...FILTER, file_id: filterFile.fileId } });
    const filterId = createdFilter.body.id as number;
    assert.ok(filterId > NEW_APP_ID_FLOOR, `canary: the filter's id ${filterId} is in the new app's range`);
    await onNewApp("canary", "DELETE", `/api/list_cutter/delete/${deleted.id}/`, 204, { token: writerTokens.access });
    assert.ok(canaryLog.every((line) => line.endsWith(" workers")), `canary: every request served by the new app:\n${canaryLog.join("\n")}`);

    // The legacy side before the reverse sync, to compare with.
    const before = await snapshot(legacy.db);
    const mediaBefore = mediaListing(legacy.media);
    assert.equal(before.auth_user.length, corpus.users.length, "setup: auth_user holds the corpus users");
    assert.equal(before.list_cutter_savedfile.length, corpus.files.length, "setup: list_cutter_savedfile holds the corpus files");

    // ── 4. Rollback: everyone to legacy except the two writers ────────────────────────────────
    const rolled = await admin("POST", "/cutover/rollback", { reason: "round-trip test" });
    assert.equal(rolled.status, 200, describe("rollback: POST /admin/cutover/rollback", rolled));
    await sleep(CACHE_WAIT_MS);
    const afterRollback = await cutover("rollback");
    assert.equal(afterRollback.phase, "rolled_back", `rollback: phase ${JSON.stringify(afterRollback)}`);
    assert.ok(afterRollback.holdBack, `rollback: GET /admin/cutover has no holdBack: ${JSON.stringify(afterRollback)}`);
    assert.equal(afterRollback.holdBack.users, 2, `rollback: holdBack.users should be the 2 users who wrote: ${JSON.stringify(afterRollback.holdBack)}`);
    assert.equal(afterRollback.holdBack.afterSeq, 0, `rollback: nothing applied yet: ${JSON.stringify(afterRollback.holdBack)}`);
    for (const [who, token] of [[NEW_USER.username, newbie.access], [writer.username, writerTokens.access]] as const) {
      const a = await whoServes(token);
      assert.equal(a.servedBy, "workers", describe(`rollback: ${who}, who wrote on the new app, is held there: GET /api/accounts/user/`, a));
      assert.equal(a.status, 200, describe(`rollback: ${who}: GET /api/accounts/user/`, a));
    }
    const idleTokens = await login("rollback", idle.username, idle.password, "legacy");
    const idleMe = await whoServes(idleTokens.access);
    assert.equal(idleMe.servedBy, "legacy", describe(`rollback: ${idle.username}, who wrote nothing, is back on legacy`, idleMe));

    // ── 5. The reverse job, its bundle applied with the real applier ──────────────────────────
    const reverse = await admin("POST", "/jobs", { kind: "reverse" });
    assert.equal(reverse.status, 201, describe('reverse: POST /admin/jobs {"kind":"reverse"}', reverse));
    const reverseId = reverse.body.id as string;
    const reverseJob = await waitForJob("reverse", reverseId);
    assert.equal(reverseJob.state, "completed", `reverse: the reverse job ended ${reverseJob.state}: ${JSON.stringify(reverseJob)}`);
    // Five writes: registration, upload, tags, filter, delete.
    assert.equal(reverseJob.fromSeq, 0, `reverse: fromSeq: ${JSON.stringify(reverseJob)}`);
    assert.equal(reverseJob.toSeq, 5, `reverse: toSeq (five writes): ${JSON.stringify(reverseJob)}`);
    assert.deepEqual(reverseJob.counts, { users: 1, files: 2, filters: 1, deletions: 1 }, `reverse: rows per table: ${JSON.stringify(reverseJob)}`);
    assert.equal(reverseJob.appliedAt ?? null, null, "reverse: not applied yet");

    // A dry run changes nothing, anywhere.
    const dry = await runApplier(stack, legacy, ["--dry-run"]);
    assert.equal(dry.code, 0, `apply (dry run): ${show(dry)}`);
    assert.match(dry.stdout, new RegExp(`^summary: dry run \\(nothing changed\\) of job ${reverseId} \\(changes 0\\.\\.5\\): users 1 inserted 0 updated 0 deleted, files 1 inserted 1 updated 1 deleted, filters 1 inserted 0 updated 0 deleted; 0 deletions already gone; media 1 written 1 unchanged 1 removed$`, "m"), `apply (dry run): ${show(dry)}`);
    assert.deepEqual(await snapshot(legacy.db), before, "apply (dry run): PostgreSQL changed");
    assert.deepEqual(mediaListing(legacy.media), mediaBefore, "apply (dry run): the media dir changed");
    const afterDry = await waitForJob("apply (dry run)", reverseId);
    assert.equal(afterDry.appliedAt ?? null, null, `apply (dry run): the Worker was told it was applied: ${JSON.stringify(afterDry)}`);

    // For real.
    const applied = await runApplier(stack, legacy, []);
    assert.equal(applied.code, 0, `apply: ${show(applied)}`);
    assert.match(applied.stdout, new RegExp(`^summary: applied job ${reverseId} \\(changes 0\\.\\.5\\): users 1 inserted 0 updated 0 deleted, files 1 inserted 1 updated 1 deleted, filters 1 inserted 0 updated 0 deleted; 0 deletions already gone; media 1 written 1 unchanged 1 removed$`, "m"), `apply: ${show(applied)}`);
    assert.match(applied.stdout, new RegExp(`told the Worker: job ${reverseId} applied up to change 5`), `apply: ${show(applied)}`);
    const after = await snapshot(legacy.db);
    const byId = (rows: Row[], id: number) => rows.find((r) => r.id === id);

    // auth_user: the corpus users untouched, the new user inserted with the new app's id and a hash legacy verifies.
    assert.deepEqual(after.auth_user.map((r) => r.id), [...before.auth_user.map((r) => r.id), newUserId], "apply: auth_user ids");
    for (const row of before.auth_user) assert.deepEqual(byId(after.auth_user, row.id as number), row, `apply: auth_user ${row.id} changed (a login is not a write)`);
    const newUserRow = byId(after.auth_user, newUserId)!;
    assert.deepEqual(
      { ...newUserRow, password: undefined, date_joined: undefined, last_login: undefined },
      { id: newUserId, password: undefined, username: NEW_USER.username, email: NEW_USER.email, first_name: "", last_name: "", date_joined: undefined, last_login: undefined, is_active: true, is_staff: false, is_superuser: false },
      "apply: the new user's row",
    );
    const password = String(newUserRow.password);
    assert.match(password, new RegExp(`^pbkdf2_sha256\\$${PASSWORD_ITERATIONS}\\$`), "apply: the new user's hash is Django's pbkdf2_sha256 at PASSWORD_ITERATIONS");
    assert.ok(verifyDjangoHash(NEW_USER.password, password), `apply: the new user's hash does not verify with node:crypto: ${password}`);
    assert.equal(verifyDjangoHash(`${NEW_USER.password}x`, password), false, "apply: the new user's hash verifies a wrong password");
    const joined = Date.parse(String(newUserRow.date_joined));
    assert.ok(Math.abs(joined - Date.now()) < 10 * 60_000, `apply: the new user's date_joined ${newUserRow.date_joined}`);

    // list_cutter_savedfile: the upload inserted, the tagged file's user_tags changed (only them), the deleted one gone.
    assert.deepEqual(after.list_cutter_savedfile.map((r) => r.id), [...before.list_cutter_savedfile.map((r) => r.id).filter((id) => id !== deleted.id), uploadId], "apply: list_cutter_savedfile ids");
    for (const row of before.list_cutter_savedfile) {
      if (row.id === deleted.id) continue;
      const expected: Row = row.id === tagged.id ? { ...row, user_tags: [...(row.user_tags as string[]), ...NEW_TAGS] } : row;
      assert.deepEqual(byId(after.list_cutter_savedfile, row.id as number), expected, `apply: list_cutter_savedfile ${row.id}${row.id === tagged.id ? " (tagged: only user_tags may change)" : " changed"}`);
    }
    const uploadPath = `reverse-sync/${newUserId}/${uploadFileId}.csv`;
    const uploadedRow = byId(after.list_cutter_savedfile, uploadId)!;
    assert.deepEqual(
      { ...uploadedRow, uploaded_at: undefined },
      { id: uploadId, user_id: newUserId, file_id: uploadFileId, file_name: UPLOAD_NAME, file_path: `${corpus.mediaRoot}/${uploadPath}`, uploaded_at: undefined, system_tags: ["uploaded"], user_tags: [], metadata: {} },
      "apply: the uploaded file's row",
    );
    assert.ok(Math.abs(Date.parse(String(uploadedRow.uploaded_at)) - Date.now()) < 10 * 60_000, `apply: the upload's uploaded_at ${uploadedRow.uploaded_at}`);

    // list_cutter_savedfilter: the corpus filters untouched, the new one inserted.
    assert.deepEqual(after.list_cutter_savedfilter.map((r) => r.id), [...before.list_cutter_savedfilter.map((r) => r.id), filterId], "apply: list_cutter_savedfilter ids");
    for (const row of before.list_cutter_savedfilter) assert.deepEqual(byId(after.list_cutter_savedfilter, row.id as number), row, `apply: list_cutter_savedfilter ${row.id} changed`);
    const filterRow = byId(after.list_cutter_savedfilter, filterId)!;
    assert.deepEqual({ ...filterRow, created_at: undefined }, { id: filterId, user_id: writer.id, file_id: filterFile.fileId, name: FILTER.name, description: FILTER.description, filter_config: FILTER.filter_config, created_at: undefined }, "apply: the new filter's row");
    assert.deepEqual(after.bookkeeping, [{ job_id: reverseId, from_seq: 0, to_seq: 5 }], "apply: list_cutter_reverse_sync");

    // Media: the upload byte for byte, the deleted file gone, every other file untouched (not even rewritten).
    const mediaAfter = mediaListing(legacy.media);
    assert.equal(sha256Hex(readFileSync(join(legacy.media, uploadPath))), sha256Hex(UPLOAD_BYTES), "apply: the uploaded file's bytes in the media dir");
    const expectedMedia = { ...mediaBefore };
    delete expectedMedia[deleted.relativePath];
    assert.deepEqual({ ...mediaAfter, [uploadPath]: undefined }, { ...expectedMedia, [uploadPath]: undefined }, "apply: media dir (other than the upload)");
    assert.ok(uploadPath in mediaAfter && !(deleted.relativePath in mediaAfter), `apply: media files: ${Object.keys(mediaAfter).join(", ")}`);

    const appliedJob = await waitForJob("apply", reverseId);
    assert.equal(appliedJob.appliedToSeq, 5, `apply: the Worker records the bundle applied: ${JSON.stringify(appliedJob)}`);

    // A second run: already applied, nothing changes.
    const again = await runApplier(stack, legacy, ["--job", reverseId]);
    assert.equal(again.code, 0, `apply again: ${show(again)}`);
    assert.match(again.stdout, /already applied/, `apply again: ${show(again)}`);
    assert.deepEqual(await snapshot(legacy.db), after, "apply again: PostgreSQL changed");
    assert.deepEqual(mediaListing(legacy.media), mediaAfter, "apply again: the media dir changed");

    // A bundle whose range does not follow the last applied one is refused, with nothing changed.
    const overlap = await admin("POST", "/jobs", { kind: "reverse", since: 0 });
    assert.equal(overlap.status, 201, describe('refusal: POST /admin/jobs {"kind":"reverse","since":0}', overlap));
    const overlapJob = await waitForJob("refusal", overlap.body.id);
    assert.equal(overlapJob.state, "completed", `refusal: the since-0 job ended ${overlapJob.state}: ${JSON.stringify(overlapJob)}`);
    assert.deepEqual([overlapJob.fromSeq, overlapJob.toSeq], [0, 5], `refusal: the since-0 job's range: ${JSON.stringify(overlapJob)}`);
    const refused = await runApplier(stack, legacy, ["--job", overlap.body.id]);
    assert.equal(refused.code, 1, `refusal: ${show(refused)}`);
    assert.match(refused.stderr, /refused: .*changes up to 5 are already applied/, `refusal: ${show(refused)}`);
    assert.deepEqual(await snapshot(legacy.db), after, "refusal: PostgreSQL changed");
    assert.deepEqual(mediaListing(legacy.media), mediaAfter, "refusal: the media dir changed");
    const overlapAfter = await waitForJob("refusal", overlap.body.id);
    assert.equal(overlapAfter.appliedAt ?? null, null, `refusal: the refused job was reported applied: ${JSON.stringify(overlapAfter)}`);

    // ── 6. Applied: the writers move to legacy, nobody is held back ───────────────────────────
    await sleep(CACHE_WAIT_MS);
    const released = await cutover("released");
    assert.equal(released.holdBack?.users, 0, `released: holdBack.users after the bundle was applied: ${JSON.stringify(released.holdBack)}`);
    assert.equal(released.holdBack?.afterSeq, 5, `released: holdBack.afterSeq: ${JSON.stringify(released.holdBack)}`);
    for (const [who, token] of [[NEW_USER.username, newbie.access], [writer.username, writerTokens.access]] as const) {
      const a = await whoServes(token);
      assert.equal(a.servedBy, "legacy", describe(`released: ${who}'s requests go to legacy once the bundle is applied: GET /api/accounts/user/`, a));
    }
    // The migrated writer's session survives the move: legacy accepts the token the new app issued.
    const writerOnLegacy = await whoServes(writerTokens.access);
    assert.equal(writerOnLegacy.status, 200, describe(`released: ${writer.username}'s new-app token on legacy`, writerOnLegacy));
    assert.equal(writerOnLegacy.body.id, writer.id, describe(`released: ${writer.username} on legacy`, writerOnLegacy));
  } finally {
    await stack.stop();
    await legacy?.stop();
  }
});
