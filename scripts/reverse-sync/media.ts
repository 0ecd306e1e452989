import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { lstat, mkdir, realpath, rename, rm, rmdir, statfs, unlink } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, resolve, sep } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { HttpError, type WorkerApi } from "./worker-api.ts";

/** What the bundle says a media file must hold. */
export interface ExpectedFile {
  fileId: string;
  relativePath: string;
  size: number;
  sha256: string;
}

/** The absolute path of a relative media path, or an error saying why it is refused. */
export function mediaPath(root: string, relativePath: string): string {
  const refuse = (why: string): never => {
    throw new Error(`refusing media path ${JSON.stringify(relativePath)}: ${why}`);
  };
  if (relativePath === "") refuse("empty");
  if (/[\u0000-\u001f\u007f\\]/.test(relativePath)) refuse("NUL, control character or backslash");
  if (isAbsolute(relativePath)) refuse("absolute");
  if (relativePath.split("/").some((s) => s === "" || s === "." || s === "..")) refuse("empty, '.' or '..' segment");
  const full = resolve(root, relativePath);
  if (!full.startsWith(root.endsWith(sep) ? root : root + sep)) refuse("outside the media root");
  return full;
}

/** Size and SHA-256 of a file, or null when there is none. */
export async function fileDigest(path: string): Promise<{ size: number; sha256: string } | null> {
  const info = await lstat(path).catch((e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? null : Promise.reject(e)));
  if (!info) return null;
  if (!info.isFile()) throw new Error(`${path} exists and is not a regular file`);
  const hash = createHash("sha256");
  await pipeline(createReadStream(path), hash);
  return { size: info.size, sha256: hash.digest("hex") };
}

/** Whether the file at `path` already holds exactly the expected bytes. */
export async function isInPlace(path: string, expected: ExpectedFile): Promise<boolean> {
  const digest = await fileDigest(path);
  return digest !== null && digest.size === expected.size && digest.sha256 === expected.sha256.toLowerCase();
}

interface Staged {
  dest: string;
  temp: string;
  /** Where the file it replaced was moved while the transaction is open. */
  backup: string | null;
  placed: boolean;
}

/**
 * The files of one run. Each is downloaded to a temporary file beside its destination (hashed on
 * the way and checked), then all are renamed into place just before COMMIT. Until `finish`,
 * `discard` undoes everything this run did on disk: placed files are removed (a file they replaced
 * is put back), temporary files and the directories this run created are removed.
 */
export class MediaStage {
  readonly #root: string;
  readonly #api: WorkerApi;
  readonly #jobId: string;
  readonly #staged: Staged[] = [];
  readonly #createdDirs: string[] = [];
  readonly #paths = new Set<string>();
  #realRoot: string | null = null;

  constructor(root: string, api: WorkerApi, jobId: string) {
    this.#root = root;
    this.#api = api;
    this.#jobId = jobId;
  }

  /** Paths this run writes (a deletion in the same bundle must not remove them). */
  get paths(): ReadonlySet<string> {
    return this.#paths;
  }

  /**
   * Downloads and checks one file, unless it is already in place; says which. "gone": the Worker
   * answered 410, the file was deleted on the new app after the bundle was made (nothing written).
   */
  async stage(file: ExpectedFile): Promise<"written" | "unchanged" | "gone"> {
    const dest = mediaPath(this.#root, file.relativePath);
    if (this.#paths.has(dest)) throw new Error(`two files of the bundle go to ${file.relativePath}`);
    this.#paths.add(dest);
    if (await isInPlace(dest, file)) return "unchanged";

    let body;
    try {
      body = await this.#api.file(this.#jobId, file.fileId);
    } catch (error) {
      if (!(error instanceof HttpError) || error.status !== 410) throw error;
      this.#paths.delete(dest);
      return "gone";
    }
    await this.#makeDirectory(dirname(dest)).catch((error: Error) => {
      body.destroy();
      throw error;
    });
    const staged: Staged = { dest, temp: join(dirname(dest), `.${basename(dest)}.reverse-sync-${randomUUID()}.tmp`), backup: null, placed: false };
    this.#staged.push(staged);
    const hash = createHash("sha256");
    let bytes = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (bytes > file.size) return done(new Error(`file ${file.fileId} is longer than its ${file.size} bytes`));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(staged.temp, { flags: "wx", mode: 0o644, flush: true }));
    } catch (error) {
      throw new Error(`downloading file ${file.fileId}: ${(error as Error).message}`);
    }
    const sha256 = hash.digest("hex");
    if (bytes !== file.size) throw new Error(`file ${file.fileId} (${file.relativePath}): received ${bytes} bytes, the bundle says ${file.size}`);
    if (sha256 !== file.sha256.toLowerCase()) throw new Error(`file ${file.fileId} (${file.relativePath}): SHA-256 ${sha256} does not match the bundle's ${file.sha256}`);
    return "written";
  }

  /** Renames every downloaded file into place (a file it replaces is kept aside until `finish`). */
  async place(): Promise<void> {
    for (const staged of this.#staged) {
      if (await lstat(staged.dest).catch(() => null)) {
        const backup = `${staged.temp}.replaced`;
        await rename(staged.dest, backup);
        staged.backup = backup;
      }
      await rename(staged.temp, staged.dest);
      staged.placed = true;
    }
  }

  /** After COMMIT: drops the replaced files kept aside. */
  async finish(): Promise<void> {
    for (const staged of this.#staged) if (staged.backup) await rm(staged.backup, { force: true });
  }

  /** Undoes everything on disk; returns the problems met (it goes on past them). */
  async discard(): Promise<string[]> {
    const problems: string[] = [];
    const attempt = async (what: string, action: () => Promise<unknown>) => {
      try {
        await action();
      } catch (error) {
        problems.push(`${what}: ${(error as Error).message}`);
      }
    };
    for (const staged of [...this.#staged].reverse()) {
      if (staged.placed) {
        await attempt(`removing ${staged.dest}`, () => unlink(staged.dest));
        if (staged.backup) await attempt(`restoring ${staged.dest}`, () => rename(staged.backup!, staged.dest));
      } else {
        await attempt(`removing ${staged.temp}`, () => rm(staged.temp, { force: true }));
        if (staged.backup) await attempt(`restoring ${staged.dest}`, () => rename(staged.backup!, staged.dest));
      }
    }
    for (const dir of [...this.#createdDirs].reverse()) await rmdir(dir).catch(() => undefined);
    return problems;
  }

  /**
   * mkdir -p, remembering which directories it created. The deepest directory that already exists
   * must really be inside the root: a symlink in the tree must not lead the write elsewhere.
   */
  async #makeDirectory(dir: string): Promise<void> {
    let existing = dir;
    while (!(await lstat(existing).catch(() => null))) existing = dirname(existing);
    this.#realRoot ??= await realpath(this.#root);
    const real = await realpath(existing);
    if (real !== this.#realRoot && !real.startsWith(this.#realRoot + sep)) throw new Error(`refusing ${dir}: ${existing} resolves to ${real}, outside the media root`);
    const first = await mkdir(dir, { recursive: true });
    if (first) {
      const created: string[] = [];
      for (let d = dir; d.length >= first.length; d = dirname(d)) created.unshift(d);
      this.#createdDirs.push(...created);
    }
  }
}

/** Bytes free for this user on the file system holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return Number(stats.bavail) * Number(stats.bsize);
}

/**
 * Removes a deleted file's media; a missing file is fine. Returns whether one was removed. Like a
 * write, it refuses a path whose directory a symlink leads out of the root.
 */
export async function removeMedia(root: string, path: string): Promise<boolean> {
  const dir = await realpath(dirname(path)).catch((e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? null : Promise.reject(e)));
  if (dir === null) return false;
  const realRoot = await realpath(root);
  if (dir !== realRoot && !dir.startsWith(realRoot + sep)) throw new Error(`refusing to remove ${path}: its directory resolves to ${dir}, outside the media root`);
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}
