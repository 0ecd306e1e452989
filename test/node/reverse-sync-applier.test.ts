// `npm run reverse-sync` end to end: the real script, as a child process, against a real
// PostgreSQL (PGlite loaded with scripts/legacy-schema.sql, served over the wire protocol by
// pglite-socket) and a fake Worker serving hand-built bundles (./reverse-bundle-fixture.ts).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import Papa from "papaparse";
import { verifyDjangoHash } from "../legacy-origin/corpus.ts";
import { show, spawnApplier, type Run } from "./applier-process.ts";
import { buildBundle, djangoHash, sha256Hex, startFakeWorker, type Bundle, type BundleFile, type BundleRow, type BundleSpec, type FakeWorker } from "./reverse-bundle-fixture.ts";

const root = new URL("../..", import.meta.url).pathname;
const TOKEN = "reverse-sync-test-token";
/** The legacy LEGACY_MEDIA_ROOT that file_path values name (the test's media dir stands for it). */
const LEGACY_MEDIA_ROOT = "/srv/list_cutter/media";
const ITERATIONS = 20_000;
const PASSWORDS: Record<string, string> = { alice: "alice-legacy-pass", bob: "bob's new passphrase", carol: "carol-pass", newbie: "correct horse battery staple", late: "late-pass" };

const NEW_USER = "1000000005";
const NEW_FILE = "1000000001";
const NEW_FILTER = "1000000002";
const F7 = "7d4c8f0a-2b1e-4c3d-9a8b-0123456789ab";
const F8 = "8e5d9a1b-3c2f-4d4e-8b9c-123456789abc";
const NEW_FILE_ID = "a1b2c3d4-e5f6-4789-8abc-def012345678";

/** Where legacy keeps its own files (any path legacy chose). */
const relativeOf = (userId: string, fileId: string) => `uploads/user-${userId}/${fileId}.csv`;
/** Where a new-app file must go. */
const newAppPath = (userId: string, fileId: string) => `reverse-sync/${userId}/${fileId}.csv`;
const F7_BYTES = Buffer.from("email,name\nann@example.com,Ann\nbo@example.com,Bo\n");
const F8_BYTES = Buffer.from("a,b\n1,2\n");
// Multi-byte characters across a few hundred KiB: chunk boundaries land inside them.
const NEW_FILE_BYTES = Buffer.from("name,city\n" + Array.from({ length: 12_000 }, (_, i) => `Zoë ${i},Kraków ✓\n`).join(""));

interface Env {
  db: PGlite;
  server: PGLiteSocketServer;
  databaseUrl: string;
  dir: string;
  media: string;
  worker: FakeWorker;
  stop(): Promise<void>;
}

/** A fresh legacy database (three users up to id 42, two files, one filter), its media dir, and a fake Worker. */
async function startEnv(): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), "reverse-sync-"));
  const media = join(dir, "media");
  mkdirSync(media);
  const db = await PGlite.create();
  await db.exec(readFileSync(join(root, "scripts/legacy-schema.sql"), "utf8"));
  // Explicit ids, as a restore would leave them: the id sequences have not moved.
  for (const [id, username, superuser] of [[1, "alice", true], [2, "bob", false], [42, "carol", false]] as const) {
    await db.query(
      `INSERT INTO auth_user (id, password, last_login, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
       VALUES ($1, $2, NULL, $3, $4, $5, '', $6, $3, true, '2024-03-01T09:00:00Z')`,
      [id, djangoHash(username === "bob" ? "bob-old-pass" : PASSWORDS[username]!, `salt${id}abcdefgh`, ITERATIONS), superuser, username, username[0]!.toUpperCase() + username.slice(1), `${username}@legacy.example`],
    );
  }
  for (const [id, userId, fileId, name, bytes] of [[7, 1, F7, "people.csv", F7_BYTES], [8, 2, F8, "old.csv", F8_BYTES]] as const) {
    const relativePath = relativeOf(String(userId), fileId);
    await db.query(
      `INSERT INTO list_cutter_savedfile (id, user_id, file_id, file_name, file_path, uploaded_at, system_tags, user_tags, metadata)
       VALUES ($1, $2, $3, $4, $5, '2024-04-01T10:00:00Z', '{uploaded}', '{customers}', '{"rows": 2}')`,
      [id, userId, fileId, name, `${LEGACY_MEDIA_ROOT}/${relativePath}`],
    );
    mkdirSync(dirname(join(media, relativePath)), { recursive: true });
    writeFileSync(join(media, relativePath), bytes);
  }
  await db.query(
    `INSERT INTO list_cutter_savedfilter (id, user_id, file_id, name, description, filter_config, created_at)
     VALUES (3, 1, $1, 'Ann only', '', '{"where": [{"column": "name", "op": "eq", "value": "Ann"}]}', '2024-04-02T10:00:00Z')`,
    [F7],
  );
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 4 });
  await server.start();
  const worker = await startFakeWorker(TOKEN);
  return {
    db,
    server,
    databaseUrl: `postgres://postgres@${server.getServerConn()}/postgres`,
    dir,
    media,
    worker,
    async stop() {
      await worker.close();
      await server.stop();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function publish(env: Env, spec: BundleSpec, createdAt = "2026-11-02T10:00:00.000Z"): Bundle {
  const bundle = buildBundle(spec);
  env.worker.bundles.set(spec.jobId, bundle);
  env.worker.jobs.unshift({ id: spec.jobId, kind: "reverse", state: "completed", createdAt });
  return bundle;
}

function user(id: string, username: string, fields: Partial<BundleRow> = {}): BundleRow {
  return {
    id,
    username,
    email: `${username}@new.example`,
    password: djangoHash(PASSWORDS[username]!, `${username}Salt0123456789`, ITERATIONS),
    first_name: username,
    last_name: "Tester",
    date_joined: "2026-11-01T08:30:00.000+00:00",
    last_login: "",
    is_active: "t",
    is_staff: "f",
    is_superuser: "f",
    ...fields,
  };
}

function file(id: string, userId: string, fileId: string, name: string, bytes: Buffer, fields: Partial<BundleRow> = {}, declared?: Buffer): BundleFile {
  const relativePath = fields.relative_path ?? (Number(id) > 1_000_000_000 ? newAppPath : relativeOf)(userId, fileId);
  return {
    bytes,
    declared,
    row: {
      id,
      user_id: userId,
      file_id: fileId,
      file_name: name,
      file_path: `${LEGACY_MEDIA_ROOT}/${relativePath}`,
      uploaded_at: "2026-11-01T09:00:00.000+00:00",
      system_tags: "{uploaded}",
      user_tags: "{}",
      metadata: '{"rows": 12000, "columns": ["name", "city"]}',
      ...fields,
      relative_path: relativePath,
    },
  };
}

const NEW_FILTER_CONFIG = { columns: ["name"], where: [{ column: "city", op: "eq", value: "Kraków" }] };

/** The canary's writes: a new user with a file and a filter, bob's changes, a re-tagged and a deleted legacy file. */
function canarySpec(jobId: string, fromSeq: number, toSeq: number): BundleSpec {
  return {
    jobId,
    fromSeq,
    toSeq,
    mediaRoot: LEGACY_MEDIA_ROOT,
    partRows: 1, // several parts per table
    users: [user(NEW_USER, "newbie"), user("2", "bob", { email: "bob@new.example", first_name: "Bob", last_name: "", last_login: "2026-11-02T07:15:00.000+00:00", date_joined: "2024-03-01T09:00:00.000+00:00" })],
    files: [
      file(NEW_FILE, NEW_USER, NEW_FILE_ID, "Kraków, ✓ list.csv", NEW_FILE_BYTES),
      file("7", "1", F7, "people.csv", F7_BYTES, { user_tags: '{customers,"q3 review"}', uploaded_at: "2024-04-01T10:00:00.000+00:00", metadata: '{"rows": 2}' }),
    ],
    filters: [{ id: NEW_FILTER, user_id: NEW_USER, file_id: NEW_FILE_ID, name: "Kraków only", description: 'says "hi",\nacross lines', filter_config: JSON.stringify(NEW_FILTER_CONFIG), created_at: "2026-11-01T09:05:00.000+00:00" }],
    deletions: [
      { table: "files", id: "8", file_id: F8, relative_path: relativeOf("2", F8) },
      { table: "filters", id: "999", file_id: "", relative_path: "" },
    ],
  };
}


/** Runs the applier; `legacyRoot` null leaves --legacy-media-root out (it defaults to --media-root). */
function runApplier(env: Env, extra: string[], options: { token?: string; legacyRoot?: string | null } = {}): Promise<Run> {
  const legacyRoot = options.legacyRoot === undefined ? LEGACY_MEDIA_ROOT : options.legacyRoot;
  const args = ["scripts/reverse-sync.ts", "--worker", env.worker.url, "--token", options.token ?? TOKEN, "--database-url", env.databaseUrl, "--media-root", env.media];
  if (legacyRoot !== null) args.push("--legacy-media-root", legacyRoot);
  args.push(...extra);
  return spawnApplier(args);
}



type Snapshot = Record<string, Record<string, unknown>[]>;

async function snapshot(db: PGlite): Promise<Snapshot> {
  const out: Snapshot = {};
  for (const table of ["auth_user", "list_cutter_savedfile", "list_cutter_savedfilter"]) {
    out[table] = (await db.query<{ r: Record<string, unknown> }>(`SELECT to_jsonb(t) AS r FROM ${table} t ORDER BY id`)).rows.map((row) => row.r);
  }
  const bookkeeping = await db.query<{ present: boolean }>("SELECT to_regclass('list_cutter_reverse_sync') IS NOT NULL AS present");
  out.bookkeeping = bookkeeping.rows[0]?.present
    ? (await db.query<Record<string, unknown>>("SELECT job_id, from_seq::int AS from_seq, to_seq::int AS to_seq FROM list_cutter_reverse_sync ORDER BY to_seq")).rows
    : [];
  return out;
}

/** Every file and directory under the media dir: SHA-256 and mtime of files, "dir" for directories. */
function mediaListing(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(dir, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        out[path] = "dir";
        walk(path);
      } else out[path] = `${sha256Hex(readFileSync(join(dir, path)))} @${statSync(join(dir, path)).mtimeMs}`;
    }
  };
  walk("");
  return out;
}

const byId = (rows: Record<string, unknown>[], id: number) => rows.find((r) => r.id === id);

test("a canary bundle is applied exactly; a second run changes nothing; an out-of-order bundle is refused; legacy ids stay below the new app's", { timeout: 120_000 }, async () => {
  const env = await startEnv();
  try {
    const before = await snapshot(env.db);
    const mediaBefore = mediaListing(env.media);
    publish(env, canarySpec("rev-1", 0, 5));
    // The newest completed reverse job is the one to pick, not a newer job of another kind or state.
    env.worker.jobs.unshift({ id: "full-9", kind: "full", state: "completed", createdAt: "2026-11-03T00:00:00.000Z" }, { id: "rev-2", kind: "reverse", state: "copying", createdAt: "2026-11-03T01:00:00.000Z" });

    const first = await runApplier(env, []);
    assert.equal(first.code, 0, show(first));
    assert.match(first.stdout, /^summary: applied job rev-1 \(changes 0\.\.5\): users 1 inserted 1 updated 0 deleted, files 1 inserted 1 updated 1 deleted, filters 1 inserted 0 updated 0 deleted; 1 deletions already gone; media 1 written 1 unchanged 1 removed$/m, show(first));
    assert.deepEqual(env.worker.applied, [{ jobId: "rev-1", body: { toSeq: 5 } }]);
    assert.equal(env.worker.unauthorized, 0);

    const after = await snapshot(env.db);
    // auth_user: alice and carol untouched, bob (a legacy user) gets his email and nothing else of
    // the bundle's row (its password, names and last_login stay legacy's), newbie inserted.
    assert.deepEqual(after.auth_user!.map((r) => r.id), [1, 2, 42, Number(NEW_USER)]);
    assert.deepEqual(byId(after.auth_user!, 1), byId(before.auth_user!, 1));
    assert.deepEqual(byId(after.auth_user!, 42), byId(before.auth_user!, 42));
    const bob = byId(after.auth_user!, 2)!;
    assert.ok(verifyDjangoHash("bob-old-pass", bob.password as string), "bob's legacy password still works on legacy");
    assert.deepEqual(bob, { ...byId(before.auth_user!, 2), email: "bob@new.example" });
    const newbie = byId(after.auth_user!, Number(NEW_USER))!;
    assert.deepEqual({ ...newbie, password: undefined }, { id: Number(NEW_USER), password: undefined, username: "newbie", email: "newbie@new.example", first_name: "newbie", last_name: "Tester", date_joined: "2026-11-01T08:30:00+00:00", last_login: null, is_active: true, is_staff: false, is_superuser: false });
    assert.ok(verifyDjangoHash(PASSWORDS.newbie!, newbie.password as string), "newbie can log in on legacy");

    // Files: the new one, file 7 re-tagged (nothing else changed), file 8 gone.
    assert.deepEqual(after.list_cutter_savedfile!.map((r) => r.id), [7, Number(NEW_FILE)]);
    assert.deepEqual(byId(after.list_cutter_savedfile!, 7), { ...byId(before.list_cutter_savedfile!, 7), user_tags: ["customers", "q3 review"] });
    assert.deepEqual(byId(after.list_cutter_savedfile!, Number(NEW_FILE)), {
      id: Number(NEW_FILE),
      user_id: Number(NEW_USER),
      file_id: NEW_FILE_ID,
      file_name: "Kraków, ✓ list.csv",
      file_path: `${LEGACY_MEDIA_ROOT}/${newAppPath(NEW_USER, NEW_FILE_ID)}`,
      uploaded_at: "2026-11-01T09:00:00+00:00",
      system_tags: ["uploaded"],
      user_tags: [],
      metadata: { rows: 12000, columns: ["name", "city"] },
    });
    assert.deepEqual(after.list_cutter_savedfilter!.map((r) => r.id), [3, Number(NEW_FILTER)]);
    assert.deepEqual(byId(after.list_cutter_savedfilter!, 3), byId(before.list_cutter_savedfilter!, 3));
    assert.deepEqual(byId(after.list_cutter_savedfilter!, Number(NEW_FILTER)), { id: Number(NEW_FILTER), user_id: Number(NEW_USER), file_id: NEW_FILE_ID, name: "Kraków only", description: 'says "hi",\nacross lines', filter_config: NEW_FILTER_CONFIG, created_at: "2026-11-01T09:05:00+00:00" });
    assert.deepEqual(after.bookkeeping, [{ job_id: "rev-1", from_seq: 0, to_seq: 5 }]);

    // Media: the new file byte for byte, file 7 not rewritten, file 8 removed, nothing else left.
    const mediaAfter = mediaListing(env.media);
    const f7 = relativeOf("1", F7);
    const f8 = relativeOf("2", F8);
    const added = newAppPath(NEW_USER, NEW_FILE_ID);
    assert.equal(mediaAfter[f7], mediaBefore[f7]);
    assert.equal(mediaAfter[f8], undefined);
    assert.equal(sha256Hex(readFileSync(join(env.media, added))), sha256Hex(NEW_FILE_BYTES));
    assert.deepEqual(Object.keys(mediaAfter).sort(), ["uploads", "uploads/user-1", f7, "reverse-sync", "reverse-sync/1000000005", added, "uploads/user-2"].sort());

    // Second run: already applied; tables and file mtimes identical; the Worker is told again.
    const second = await runApplier(env, ["--job", "rev-1"]);
    assert.equal(second.code, 0, show(second));
    assert.match(second.stdout, /already applied/);
    assert.match(second.stdout, /^summary: already applied job rev-1/m);
    assert.deepEqual(await snapshot(env.db), after);
    assert.deepEqual(mediaListing(env.media), mediaAfter);
    assert.deepEqual(env.worker.applied, [{ jobId: "rev-1", body: { toSeq: 5 } }, { jobId: "rev-1", body: { toSeq: 5 } }]);

    // A bundle that does not start where rev-1 ended (5) is refused, and changes nothing.
    publish(env, { jobId: "rev-3", fromSeq: 9, toSeq: 12, mediaRoot: LEGACY_MEDIA_ROOT, users: [user("1000000006", "late")] });
    const outOfOrder = await runApplier(env, ["--job", "rev-3"]);
    assert.equal(outOfOrder.code, 1, show(outOfOrder));
    assert.match(outOfOrder.stderr, /refused: .*changes up to 5.*changes 6\.\.9 are in no applied bundle/, show(outOfOrder));
    assert.deepEqual(await snapshot(env.db), after);
    assert.deepEqual(mediaListing(env.media), mediaAfter);
    assert.equal(env.worker.applied.length, 2);

    // Legacy's own next rows: above its highest id (42), below the new app's range.
    const next = await env.db.query<{ id: number }>(
      `INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined)
       VALUES ('!', false, 'legacy-signup', '', '', '', false, true, now()) RETURNING id`,
    );
    const id = next.rows[0]!.id;
    assert.ok(id > 42 && id < 1_000_000_000, `next legacy user id ${id}`);
    const nextFile = await env.db.query<{ id: number }>(
      `INSERT INTO list_cutter_savedfile (user_id, file_id, file_name, file_path, uploaded_at, system_tags, user_tags, metadata)
       VALUES (1, gen_random_uuid(), 'x.csv', '/x', now(), '{}', '{}', '{}') RETURNING id`,
    );
    assert.ok(nextFile.rows[0]!.id > 7 && nextFile.rows[0]!.id < 1_000_000_000, `next legacy file id ${nextFile.rows[0]!.id}`);
  } finally {
    await env.stop();
  }
});

test("--dry-run lists every change and changes nothing", { timeout: 60_000 }, async () => {
  const env = await startEnv();
  try {
    const before = await snapshot(env.db);
    const mediaBefore = mediaListing(env.media);
    publish(env, canarySpec("rev-1", 0, 5));
    const run = await runApplier(env, ["--job", "rev-1", "--dry-run"]);
    assert.equal(run.code, 0, show(run));
    for (const line of [
      `would insert user ${NEW_USER} "newbie"`,
      'would update user 2 "bob" (username and email only)',
      `would insert file ${NEW_FILE} "Kraków, ✓ list.csv" (user ${NEW_USER}); would write ${newAppPath(NEW_USER, NEW_FILE_ID)} (${NEW_FILE_BYTES.length} bytes)`,
      `would update file 7 "people.csv" (user 1); ${relativeOf("1", F7)} already in place`,
      `would insert filter ${NEW_FILTER} "Kraków only" (user ${NEW_USER})`,
      `would delete file 8; would remove ${relativeOf("2", F8)}`,
      "would delete filter 999 (not there)",
    ]) {
      assert.ok(run.stdout.includes(line), `missing ${JSON.stringify(line)}\n${show(run)}`);
    }
    assert.match(run.stdout, /^summary: dry run \(nothing changed\) of job rev-1 \(changes 0\.\.5\): users 1 inserted 1 updated/m);
    assert.deepEqual(await snapshot(env.db), before);
    assert.deepEqual(mediaListing(env.media), mediaBefore);
    assert.deepEqual(env.worker.applied, []);
  } finally {
    await env.stop();
  }
});

test("a file whose bytes do not match its sha256 aborts the whole run: nothing committed, no file left behind", { timeout: 60_000 }, async () => {
  const env = await startEnv();
  try {
    const before = await snapshot(env.db);
    const mediaBefore = mediaListing(env.media);
    const tampered = Buffer.from(NEW_FILE_BYTES);
    const at = tampered.length - 2;
    tampered.writeUInt8(tampered.readUInt8(at) ^ 1, at);
    const spec = canarySpec("rev-1", 0, 5);
    // A good file first (downloaded into a new directory), then the bad one.
    spec.files!.push(file("1000000003", NEW_USER, "b1b2c3d4-e5f6-4789-8abc-def012345678", "bad.csv", tampered, {}, NEW_FILE_BYTES));
    publish(env, spec);
    const run = await runApplier(env, ["--job", "rev-1"]);
    assert.equal(run.code, 1, show(run));
    assert.match(run.stderr, /SHA-256 [0-9a-f]{64} does not match/, show(run));
    assert.match(run.stdout, /^summary: failed; nothing was changed/m);
    assert.deepEqual(await snapshot(env.db), before);
    assert.deepEqual(mediaListing(env.media), mediaBefore);
    assert.deepEqual(env.worker.applied, []);
  } finally {
    await env.stop();
  }
});

test("a file of the bundle the Worker answers 404 for (not 410) aborts the run", { timeout: 60_000 }, async () => {
  const env = await startEnv();
  try {
    const before = await snapshot(env.db);
    const mediaBefore = mediaListing(env.media);
    publish(env, canarySpec("rev-1", 0, 5)).files.delete(NEW_FILE_ID);
    const run = await runApplier(env, ["--job", "rev-1"]);
    assert.equal(run.code, 1, show(run));
    assert.match(run.stderr, /failed: GET \/admin\/jobs\/rev-1\/files\/a1b2c3d4-[-0-9a-f]+: HTTP 404/, show(run));
    assert.deepEqual(await snapshot(env.db), before);
    assert.deepEqual(mediaListing(env.media), mediaBefore);
    assert.deepEqual(env.worker.applied, []);
  } finally {
    await env.stop();
  }
});

test("a transaction refused at COMMIT takes back the files it placed and restores the ones they replaced", { timeout: 60_000 }, async () => {
  const env = await startEnv();
  try {
    const before = await snapshot(env.db);
    const mediaBefore = mediaListing(env.media);
    const spec = canarySpec("rev-1", 0, 5);
    // New bytes for file 7 (its old ones are moved aside), and a file of a user legacy does not
    // have: Django's deferred foreign keys refuse it at COMMIT.
    spec.files![1] = file("7", "1", F7, "people.csv", Buffer.from("email\nnew@example.com\n"));
    spec.files!.push(file("1000000009", "1000000099", "d1b2c3d4-e5f6-4789-8abc-def012345678", "orphan.csv", F8_BYTES));
    publish(env, spec);
    const run = await runApplier(env, ["--job", "rev-1"]);
    assert.equal(run.code, 1, show(run));
    assert.match(run.stderr, /foreign key/, show(run));
    assert.deepEqual(await snapshot(env.db), before);
    assert.deepEqual(mediaListing(env.media), mediaBefore);
    assert.deepEqual(env.worker.applied, []);
  } finally {
    await env.stop();
  }
});

test("media paths outside the media root are refused before anything changes", { timeout: 60_000 }, async () => {
  const env = await startEnv();
  try {
    const before = await snapshot(env.db);
    const mediaBefore = mediaListing(env.media);
    const escape = { ...canarySpec("rev-1", 0, 5) };
    escape.files = [file(NEW_FILE, NEW_USER, NEW_FILE_ID, "evil.csv", NEW_FILE_BYTES, { relative_path: "../../etc/x" })];
    publish(env, escape);
    const run = await runApplier(env, ["--job", "rev-1"]);
    assert.equal(run.code, 1, show(run));
    assert.match(run.stderr, /refusing media path "\.\.\/\.\.\/etc\/x"/, show(run));
    assert.equal(existsSync(join(env.media, "../../etc/x")), false);

    const absolute = { ...canarySpec("rev-2", 0, 5), deletions: [{ table: "files", id: "8", file_id: F8, relative_path: "/etc/hostname" }] };
    publish(env, absolute);
    const run2 = await runApplier(env, ["--job", "rev-2"]);
    assert.equal(run2.code, 1, show(run2));
    assert.match(run2.stderr, /refusing media path "\/etc\/hostname": absolute/, show(run2));

    assert.deepEqual(await snapshot(env.db), before);
    assert.deepEqual(mediaListing(env.media), mediaBefore);
    assert.deepEqual(env.worker.applied, []);
  } finally {
    await env.stop();
  }
});

test("a failed `applied` call exits 1 after committing; running again only reports it", { timeout: 60_000 }, async () => {
  const env = await startEnv();
  try {
    publish(env, canarySpec("rev-1", 0, 5));
    env.worker.failApplied = 503;
    const run = await runApplier(env, ["--job", "rev-1"]);
    assert.equal(run.code, 1, show(run));
    assert.match(run.stderr, /has job rev-1 applied, but telling the Worker failed: POST \/admin\/jobs\/rev-1\/applied: HTTP 503/, show(run));
    const applied = await snapshot(env.db);
    assert.deepEqual(applied.bookkeeping, [{ job_id: "rev-1", from_seq: 0, to_seq: 5 }]);

    env.worker.failApplied = null;
    const again = await runApplier(env, ["--job", "rev-1"]);
    assert.equal(again.code, 0, show(again));
    assert.match(again.stdout, /already applied/);
    assert.deepEqual(env.worker.applied, [{ jobId: "rev-1", body: { toSeq: 5 } }]);
    assert.deepEqual(await snapshot(env.db), applied);
  } finally {
    await env.stop();
  }
});

test("bad arguments exit 2; a wrong token is reported and changes nothing", { timeout: 60_000 }, async () => {
  const missing = await spawnApplier(["scripts/reverse-sync.ts", "--worker", "http://127.0.0.1:1"]);
  assert.equal(missing.code, 2, show(missing));
  assert.match(missing.stderr, /--token is required|--database-url is required/);
  assert.match(missing.stderr, /usage: npm run reverse-sync/);
  const unknown = await spawnApplier(["scripts/reverse-sync.ts", "--wroker", "x"]);
  assert.equal(unknown.code, 2, show(unknown));

  const env = await startEnv();
  try {
    publish(env, canarySpec("rev-1", 0, 5));
    const run = await runApplier(env, ["--job", "rev-1"], { token: "wrong" });
    assert.equal(run.code, 1, show(run));
    assert.match(run.stderr, /GET \/admin\/jobs\/rev-1\/bundle: HTTP 401/);
    assert.equal(env.worker.unauthorized, 1);
  } finally {
    await env.stop();
  }
});

test("every Django hash in the bundle verifies with node:crypto's PBKDF2", () => {
  const bundle = buildBundle(canarySpec("rev-1", 0, 5));
  let checked = 0;
  for (const name of bundle.manifest.parts.users) {
    const { data } = Papa.parse<BundleRow>(bundle.parts.get(name)!, { header: true, skipEmptyLines: true });
    for (const row of data) {
      assert.ok(verifyDjangoHash(PASSWORDS[row.username!]!, row.password!), `${row.username}'s hash`);
      assert.equal(verifyDjangoHash(`${PASSWORDS[row.username!]!}x`, row.password!), false);
      checked++;
    }
  }
  assert.equal(checked, 2);
});

test("a file deletion removes the row only while it is still that file, and its media with it: the new app may give a later file the same number", { timeout: 60_000 }, async () => {
  const env = await startEnv();
  try {
    publish(env, canarySpec("rev-1", 0, 5));
    assert.equal((await runApplier(env, ["--job", "rev-1"])).code, 0);
    assert.ok(existsSync(join(env.media, newAppPath(NEW_USER, NEW_FILE_ID))));
    // Then the new app deleted its file 1000000001 (NEW_FILE_ID) and numbered its next upload 1000000001 again.
    const reused = "c1b2c3d4-e5f6-4789-8abc-def012345678";
    publish(env, {
      jobId: "rev-2",
      fromSeq: 5,
      toSeq: 7,
      mediaRoot: LEGACY_MEDIA_ROOT,
      files: [file(NEW_FILE, NEW_USER, reused, "second.csv", F8_BYTES)],
      deletions: [{ table: "files", id: NEW_FILE, file_id: NEW_FILE_ID, relative_path: newAppPath(NEW_USER, NEW_FILE_ID) }],
    });
    const run = await runApplier(env, ["--job", "rev-2"]);
    assert.equal(run.code, 0, show(run));
    const rows = (await env.db.query<{ file_id: string }>(`SELECT file_id::text FROM list_cutter_savedfile WHERE id = $1`, [NEW_FILE])).rows;
    assert.deepEqual(rows, [{ file_id: reused }], show(run));
    assert.equal(existsSync(join(env.media, newAppPath(NEW_USER, NEW_FILE_ID))), false, show(run));
    assert.equal(sha256Hex(readFileSync(join(env.media, newAppPath(NEW_USER, reused)))), sha256Hex(F8_BYTES));
  } finally {
    await env.stop();
  }
});

async function assertNothingChanged(env: Env, before: Snapshot, mediaBefore: Record<string, string>, run: Run): Promise<void> {
  assert.deepEqual(await snapshot(env.db), before, show(run));
  assert.deepEqual(mediaListing(env.media), mediaBefore, show(run));
  assert.deepEqual(env.worker.applied, []);
}

/** A legacy files row (and, with bytes, its media file). */
async function insertLegacyFile(env: Env, id: number, userId: number, fileId: string, relativePath: string, bytes?: Buffer): Promise<void> {
  await env.db.query(
    `INSERT INTO list_cutter_savedfile (id, user_id, file_id, file_name, file_path, uploaded_at, system_tags, user_tags, metadata)
     VALUES ($1, $2, $3, 'x.csv', $4, '2024-04-01T10:00:00Z', '{}', '{}', '{}')`,
    [id, userId, fileId, `${LEGACY_MEDIA_ROOT}/${relativePath}`],
  );
  if (bytes) {
    mkdirSync(dirname(join(env.media, relativePath)), { recursive: true });
    writeFileSync(join(env.media, relativePath), bytes);
  }
}

const SKIPPED = "deleted on the new app since the bundle; the next bundle carries the deletion";

test("a file deleted on the new app after the bundle was made (410) is skipped with its row; the rest is applied", { timeout: 60_000 }, async () => {
  const env = await startEnv();
  try {
    publish(env, canarySpec("rev-1", 0, 5));
    env.worker.gone.add(NEW_FILE_ID);
    const run = await runApplier(env, ["--job", "rev-1"]);
    assert.equal(run.code, 0, show(run));
    assert.ok(run.stdout.includes(`skipped file ${NEW_FILE} (${NEW_FILE_ID}) and its row: ${SKIPPED}`), show(run));
    assert.match(run.stdout, /^summary: applied job rev-1 .*files 0 inserted 1 updated 1 deleted, .*; 1 files skipped \(deleted on the new app since the bundle; the next bundle carries the deletion\)$/m, show(run));
    const after = await snapshot(env.db);
    assert.equal(byId(after.list_cutter_savedfile!, Number(NEW_FILE)), undefined, "no row points at a missing file");
    assert.ok(byId(after.auth_user!, Number(NEW_USER)));
    assert.deepEqual(byId(after.list_cutter_savedfile!, 7)!.user_tags, ["customers", "q3 review"]);
    assert.equal(existsSync(join(env.media, "reverse-sync")), false, "nothing written for the skipped file");
    assert.deepEqual(env.worker.applied, [{ jobId: "rev-1", body: { toSeq: 5 } }]);
  } finally {
    await env.stop();
  }
});

test("usernames other legacy users keep are listed and refused before anything changes; a name passed between users is no collision", { timeout: 60_000 }, async () => {
  const env = await startEnv();
  try {
    const before = await snapshot(env.db);
    const mediaBefore = mediaListing(env.media);
    publish(env, { jobId: "rev-1", fromSeq: 0, toSeq: 5, mediaRoot: LEGACY_MEDIA_ROOT, users: [user(NEW_USER, "carol"), user("2", "bob", { username: "alice" })] });
    const run = await runApplier(env, ["--job", "rev-1"]);
    assert.equal(run.code, 1, show(run));
    for (const line of [
      "refused: username collisions with legacy (nothing was changed):",
      `  "carol": held by legacy user 42; the bundle gives it to new-app user ${NEW_USER}`,
      '  "alice": held by legacy user 1; the bundle gives it to legacy user 2',
      "rename the legacy user on legacy",
      "have the new app's user renamed on the new app",
      "start a new reverse job",
    ]) {
      assert.ok(run.stderr.includes(line), `missing ${JSON.stringify(line)}\n${show(run)}`);
    }
    await assertNothingChanged(env, before, mediaBefore, run);

    // The new app renamed legacy's carol (a conflict resolution) and gave "carol" to its own user,
    // who comes first in the bundle: applied, names moved in one transaction.
    publish(env, { jobId: "rev-2", fromSeq: 0, toSeq: 5, mediaRoot: LEGACY_MEDIA_ROOT, users: [user(NEW_USER, "carol"), user("42", "carol", { username: "carol_legacy" })] });
    const swap = await runApplier(env, ["--job", "rev-2"]);
    assert.equal(swap.code, 0, show(swap));
    const names = (await env.db.query<{ id: number; username: string }>("SELECT id, username FROM auth_user WHERE id IN (42, $1) ORDER BY id", [NEW_USER])).rows;
    assert.deepEqual(names, [{ id: 42, username: "carol_legacy" }, { id: Number(NEW_USER), username: "carol" }]);
  } finally {
    await env.stop();
  }
});

test("legacy users only ever get a username and email; new-app users are never staff; no legacy id is inserted and no user deleted", { timeout: 60_000 }, async () => {
  const env = await startEnv();
  try {
    const before = await snapshot(env.db);
    const takeover = {
      username: "alice_renamed",
      email: "alice@new.example",
      password: djangoHash("attacker's password", "attackerSalt0123", ITERATIONS),
      first_name: "Mallory",
      last_name: "X",
      date_joined: "2020-01-01T00:00:00.000+00:00",
      last_login: "2026-11-02T07:15:00.000+00:00",
      is_active: "f",
      is_staff: "f",
      is_superuser: "f",
    };
    publish(env, { jobId: "rev-1", fromSeq: 0, toSeq: 5, mediaRoot: LEGACY_MEDIA_ROOT, users: [user("1", "alice", takeover), user(NEW_USER, "newbie", { is_staff: "t", is_superuser: "t" })] });
    const run = await runApplier(env, ["--job", "rev-1"]);
    assert.equal(run.code, 0, show(run));
    assert.ok(run.stdout.includes('updated user 1 "alice_renamed" (username and email only)'), show(run));
    const after = await snapshot(env.db);
    const alice = byId(after.auth_user!, 1)!;
    assert.ok(verifyDjangoHash(PASSWORDS.alice!, alice.password as string), "alice's password is legacy's");
    assert.deepEqual(alice, { ...byId(before.auth_user!, 1), username: "alice_renamed", email: "alice@new.example" });
    assert.deepEqual(byId(after.auth_user!, Number(NEW_USER)), { ...byId(after.auth_user!, Number(NEW_USER)), is_staff: false, is_superuser: false });
    const mediaAfter = mediaListing(env.media);

    env.worker.applied.length = 0;
    publish(env, { jobId: "rev-2", fromSeq: 5, toSeq: 6, mediaRoot: LEGACY_MEDIA_ROOT, users: [user("77", "late")] });
    const insert = await runApplier(env, ["--job", "rev-2"]);
    assert.equal(insert.code, 1, show(insert));
    assert.match(insert.stderr, /refused: users-0001\.csv record 2: user 77 is not in the legacy database, and ids up to 1000000000 are legacy's own: the applier never inserts one/, show(insert));
    await assertNothingChanged(env, after, mediaAfter, insert);

    publish(env, { jobId: "rev-3", fromSeq: 5, toSeq: 6, mediaRoot: LEGACY_MEDIA_ROOT, deletions: [{ table: "users", id: NEW_USER, file_id: "", relative_path: "" }] });
    const deletion = await runApplier(env, ["--job", "rev-3"]);
    assert.equal(deletion.code, 1, show(deletion));
    assert.match(deletion.stderr, /refused: .*the bundle deletes user "1000000005", and the new app never deletes users/, show(deletion));
    await assertNothingChanged(env, after, mediaAfter, deletion);
  } finally {
    await env.stop();
  }
});

test("a bundle made for another media root than --legacy-media-root (default --media-root) is refused", { timeout: 60_000 }, async () => {
  const env = await startEnv();
  try {
    const before = await snapshot(env.db);
    const mediaBefore = mediaListing(env.media);
    publish(env, canarySpec("rev-1", 0, 5));
    for (const legacyRoot of [null, "/srv/other/media"]) {
      const run = await runApplier(env, ["--job", "rev-1"], { legacyRoot });
      assert.equal(run.code, 1, show(run));
      assert.ok(run.stderr.includes(`refused: the bundle's file paths lie under "${LEGACY_MEDIA_ROOT}", this legacy's media root is "${legacyRoot ?? env.media}"`), show(run));
      await assertNothingChanged(env, before, mediaBefore, run);
    }
  } finally {
    await env.stop();
  }
});

test("a new-app file goes to reverse-sync/<user_id>/<file_id>.csv exactly; a legacy file keeps its path and is never inserted", { timeout: 90_000 }, async () => {
  const env = await startEnv();
  try {
    const before = await snapshot(env.db);
    const mediaBefore = mediaListing(env.media);
    const named = `reverse-sync/${NEW_USER}/${NEW_FILE_ID}`;
    const cases: [BundleFile, RegExp][] = [
      [file(NEW_FILE, NEW_USER, NEW_FILE_ID, "x.html", NEW_FILE_BYTES, { relative_path: `${named}.html` }), /new-app file 1000000001 must go to reverse-sync\/1000000005\/a1b2c3d4-e5f6-4789-8abc-def012345678\.csv, not ".*\.html"/],
      [file(NEW_FILE, NEW_USER, NEW_FILE_ID, "x.html", NEW_FILE_BYTES, { relative_path: `${named}/x.html` }), /new-app file 1000000001 must go to/],
      [file(NEW_FILE, NEW_USER, NEW_FILE_ID, "x.csv", NEW_FILE_BYTES, { relative_path: `uploads/user-1/${NEW_FILE_ID}.csv` }), /new-app file 1000000001 must go to/],
      [file("8", "2", F8, "old.csv", F8_BYTES, { relative_path: "uploads/user-2/moved.csv" }), /legacy file 8 is at ".*"; the bundle would move it to ".*\/uploads\/user-2\/moved\.csv"/],
      [file("99", "2", "99b2c3d4-e5f6-4789-8abc-def012345678", "x.csv", F8_BYTES), /file 99 is not in the legacy database, and ids up to 1000000000 are legacy's own/],
    ];
    for (const [i, [bad, why]] of cases.entries()) {
      publish(env, { jobId: `rev-${i}`, fromSeq: 0, toSeq: 5, mediaRoot: LEGACY_MEDIA_ROOT, users: [user(NEW_USER, "newbie")], files: [bad] });
      const run = await runApplier(env, ["--job", `rev-${i}`]);
      assert.equal(run.code, 1, show(run));
      assert.match(run.stderr, why, show(run));
      await assertNothingChanged(env, before, mediaBefore, run);
    }
  } finally {
    await env.stop();
  }
});

test("a deleted row's media goes only with that row: not when the row is not there, named another path, or shares it; a shared media file is never overwritten", { timeout: 60_000 }, async () => {
  const env = await startEnv();
  try {
    const F9 = "9f6e0b2c-4d3a-4e5f-9c0d-23456789abcd";
    const F10 = "0a7f1c3d-5e4b-4f6a-8d1e-3456789abcde";
    await insertLegacyFile(env, 9, 2, F9, relativeOf("2", F8)); // shares file 8's media
    await insertLegacyFile(env, 10, 2, F10, relativeOf("2", F10), Buffer.from("x\n1\n"));
    const mediaBefore = mediaListing(env.media);
    publish(env, {
      jobId: "rev-1",
      fromSeq: 0,
      toSeq: 5,
      mediaRoot: LEGACY_MEDIA_ROOT,
      deletions: [
        { table: "files", id: "8", file_id: F8, relative_path: relativeOf("2", F8) },
        { table: "files", id: "10", file_id: F10, relative_path: relativeOf("1", F7) },
        { table: "files", id: "55", file_id: "55b2c3d4-e5f6-4789-8abc-def012345678", relative_path: relativeOf("1", F7) },
      ],
    });
    const run = await runApplier(env, ["--job", "rev-1"]);
    assert.equal(run.code, 0, show(run));
    assert.match(run.stdout, /files 0 inserted 0 updated 2 deleted, .*; 1 deletions already gone; media 0 written 0 unchanged 0 removed$/m, show(run));
    assert.ok(run.stdout.includes(`media kept: ${relativeOf("2", F8)}: legacy file row(s) 9 point at it`), show(run));
    assert.ok(run.stdout.includes(`media kept: the row pointed at "${LEGACY_MEDIA_ROOT}/${relativeOf("2", F10)}"`), show(run));
    const after = await snapshot(env.db);
    assert.deepEqual(after.list_cutter_savedfile!.map((r) => r.id), [7, 9]);
    assert.deepEqual(mediaListing(env.media), mediaBefore);

    // A row pointing at file 7's media too: new bytes for file 7 are refused.
    await insertLegacyFile(env, 11, 1, "11b2c3d4-e5f6-4789-8abc-def012345678", relativeOf("1", F7));
    const withRow11 = await snapshot(env.db);
    env.worker.applied.length = 0;
    publish(env, { jobId: "rev-2", fromSeq: 5, toSeq: 6, mediaRoot: LEGACY_MEDIA_ROOT, files: [file("7", "1", F7, "people.csv", Buffer.from("email\nnew@example.com\n"))] });
    const overwrite = await runApplier(env, ["--job", "rev-2"]);
    assert.equal(overwrite.code, 1, show(overwrite));
    assert.match(overwrite.stderr, /refused: .*refusing to write uploads\/user-1\/7d4c8f0a-[-0-9a-f]+\.csv: legacy file row\(s\) 11 point at it too/, show(overwrite));
    await assertNothingChanged(env, withRow11, mediaBefore, overwrite);
  } finally {
    await env.stop();
  }
});

test("bounds against a hostile Worker: manifest 1 MiB, part 16 MiB, declared file size, free disk space; nothing downloaded", { timeout: 90_000 }, async () => {
  const env = await startEnv();
  try {
    const before = await snapshot(env.db);
    const mediaBefore = mediaListing(env.media);
    const bigManifest = publish(env, canarySpec("rev-1", 0, 5));
    (bigManifest.manifest as unknown as Record<string, unknown>).padding = "x".repeat(1024 * 1024);
    const manifest = await runApplier(env, ["--job", "rev-1"]);
    assert.equal(manifest.code, 1, show(manifest));
    assert.match(manifest.stderr, /the manifest is larger than 1048576 bytes: refusing it/, show(manifest));
    assert.deepEqual(env.worker.requests.filter((r) => r.includes("/bundle/")), []);

    const huge = { id: NEW_FILTER, user_id: "1", file_id: "", name: "huge", description: "x".repeat(16 * 1024 * 1024), filter_config: "{}", created_at: "2026-11-01T09:05:00.000+00:00" };
    publish(env, { jobId: "rev-2", fromSeq: 0, toSeq: 5, mediaRoot: LEGACY_MEDIA_ROOT, filters: [huge] });
    const part = await runApplier(env, ["--job", "rev-2"]);
    assert.equal(part.code, 1, show(part));
    assert.match(part.stderr, /part filters-0001\.csv is larger than 16777216 bytes: refusing it/, show(part));

    const declared = (size: number): BundleSpec => ({
      jobId: `rev-size-${size}`,
      fromSeq: 0,
      toSeq: 5,
      mediaRoot: LEGACY_MEDIA_ROOT,
      users: [user(NEW_USER, "newbie")],
      files: [{ ...file(NEW_FILE, NEW_USER, NEW_FILE_ID, "big.csv", NEW_FILE_BYTES), declaredSize: size }],
    });
    const runs: [BundleSpec, string[], RegExp][] = [
      [declared(1024 ** 3 + 1), [], /file a1b2c3d4-[-0-9a-f]+ is declared 1073741825 bytes, more than --max-file-bytes 1073741824/],
      [canarySpec("rev-canary", 0, 5), ["--max-file-bytes", "1000"], /is declared \d+ bytes, more than --max-file-bytes 1000$/m],
      [declared(999_999_999_999_999), ["--max-file-bytes", "999999999999999"], /the bundle's files need 999999999999999 bytes \(and 67108864 spare\) under .*, which has \d+ free: make room first/],
    ];
    for (const [spec, extra, why] of runs) {
      publish(env, spec);
      const run = await runApplier(env, ["--job", spec.jobId, ...extra]);
      assert.equal(run.code, 1, show(run));
      assert.match(run.stderr, why, show(run));
    }
    assert.deepEqual(env.worker.requests.filter((r) => r.includes("/files/")), [], "no file was downloaded");
    await assertNothingChanged(env, before, mediaBefore, part);
  } finally {
    await env.stop();
  }
});

test("--worker must be https:// beyond loopback; --help recommends the environment for the token and the database URL", { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "reverse-sync-args-"));
  try {
    const args = (worker: string) => ["scripts/reverse-sync.ts", "--worker", worker, "--token", "t", "--database-url", "postgres://u@127.0.0.1:1/db", "--media-root", dir];
    const plain = await spawnApplier(args("http://list-cutter.example.com"));
    assert.equal(plain.code, 2, show(plain));
    assert.match(plain.stderr, /--worker must be an https:\/\/ URL \(http:\/\/ only for localhost, 127\.0\.0\.1 or ::1\)/);
    for (const loopback of ["http://127.0.0.1:1", "http://localhost:1", "http://[::1]:1"]) {
      const run = await spawnApplier(args(loopback));
      assert.equal(run.code, 1, `${loopback}: accepted, then the connection fails\n${show(run)}`);
    }
    const help = await spawnApplier(["scripts/reverse-sync.ts", "--help"]);
    assert.equal(help.code, 0, show(help));
    assert.match(help.stdout, /Set ADMIN_TOKEN and DATABASE_URL in the environment rather than passing --token \/ --database-url/);
    assert.match(help.stdout, /visible to every user of this machine \(ps/);
    assert.match(help.stdout, /--legacy-media-root/);
    assert.match(help.stdout, /--max-file-bytes/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a part the Worker serves differently on a later read (checks first, writes later) aborts the run", { timeout: 60_000 }, async () => {
  const env = await startEnv();
  try {
    const before = await snapshot(env.db);
    const mediaBefore = mediaListing(env.media);
    const bundle = publish(env, canarySpec("rev-1", 0, 5));
    // files-0002.csv is file 7: read to check it, then to write it, with other tags the second time.
    const changed = canarySpec("rev-1", 0, 5);
    changed.files![1]!.row.user_tags = "{tampered}";
    const name = bundle.manifest.parts.files[1]!;
    env.worker.reread.set(name, buildBundle(changed).parts.get(name)!);
    const run = await runApplier(env, ["--job", "rev-1"]);
    assert.equal(run.code, 1, show(run));
    assert.match(run.stderr, /part files-0002\.csv changed between two reads: the Worker served different bytes/, show(run));
    await assertNothingChanged(env, before, mediaBefore, run);
  } finally {
    await env.stop();
  }
});
