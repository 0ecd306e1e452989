import { issueToken } from "../app/auth/tokens";
import { legacyFileUrl } from "../copy/copy-file";
import type { Env } from "../env";
import { relativeMediaPath } from "../legacy/paths";
import { Semaphore } from "../lib/concurrency";
import { toHex } from "../lib/hex";
import { answer, describeAnswer, type AppClient } from "./app-client";
import { count, errorText, runCheck, type CheckOutcome } from "./check";
import type { CheckResult } from "./report";

/** One legacy download may take this long, body included. */
export const LEGACY_TIMEOUT_MS = 10_000;
/** Downloads run at once (through the app, then from the legacy origin). */
const CONCURRENCY = 4;

interface SampledFile {
  id: string;
  user_id: number;
  file_name: string;
  size: number;
  checksum: string;
  legacy_file_path: string | null;
}

interface Content {
  sha256: string;
  bytes: number;
}

/**
 * files: a sample of migrated files downloaded through the app as their owner matches D1's size and
 * SHA-256 (app-download), and the legacy origin serves the same bytes (legacy-origin). The second
 * compares with what the app served, not with D1, so that a wrong D1 checksum fails the first only.
 */
export async function fileChecks(env: Env, client: AppClient, sample: number): Promise<CheckResult[]> {
  const served = new Map<string, { file: SampledFile; content: Content }>();
  const app = await runCheck("files", "app-download", () => appDownloads(env, client, sample, served));
  const legacy = await runCheck("files", "legacy-origin", () => legacyCopies(env, [...served.values()]));
  return [app, legacy];
}

/**
 * Migrated files of active users, at random. download/<name>/ serves the owner's newest file of
 * that name, so a file another of the owner's files shadows (same name, as new or newer) is left out.
 */
async function sampleFiles(env: Env, sample: number): Promise<SampledFile[]> {
  const rows = await env.DB.prepare(
    `SELECT f.id, f.user_id, f.file_name, f.size, f.checksum, f.legacy_file_path FROM files f JOIN users u ON u.id = f.user_id AND u.is_active = 1
     WHERE f.legacy_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM files g WHERE g.user_id = f.user_id AND g.file_name = f.file_name AND g.id != f.id AND g.uploaded_at >= f.uploaded_at)
     ORDER BY random() LIMIT ?`,
  )
    .bind(sample)
    .all<SampledFile>();
  return rows.results;
}

async function appDownloads(env: Env, client: AppClient, sample: number, served: Map<string, { file: SampledFile; content: Content }>): Promise<CheckOutcome> {
  const files = await sampleFiles(env, sample);
  if (files.length === 0) return { ok: false, detail: "no migrated file in D1 to sample: nothing is migrated yet" };
  const limit = new Semaphore(CONCURRENCY);
  const problems = await Promise.all(
    files.map((file) =>
      limit.run(async () => {
        const token = await issueToken(env, file.user_id, "access");
        const res = await client.fetch(`/api/list_cutter/download/${encodeURIComponent(file.file_name)}/`, { token });
        if (res.status !== 200) return `file ${file.id} (user ${file.user_id}): download/ answered ${describeAnswer(await answer(res))}`;
        const content = await digest(res.body);
        served.set(file.id, { file, content });
        if (content.sha256 === file.checksum && content.bytes === file.size) return null;
        return `file ${file.id} (user ${file.user_id}): the app served ${content.bytes} bytes with SHA-256 ${content.sha256}; D1 says ${file.size} bytes, ${file.checksum}`;
      }),
    ),
  );
  const failures = problems.filter((p) => p !== null);
  return { detail: `${files.length - failures.length} of ${count(files.length, "sampled migrated file")} downloaded through the app as their owner match D1's size and SHA-256`, failures };
}

async function legacyCopies(env: Env, served: { file: SampledFile; content: Content }[]): Promise<CheckOutcome> {
  if (served.length === 0) return { ok: false, detail: "nothing to compare: no sampled file was downloaded through the app (see files/app-download)" };
  const limit = new Semaphore(CONCURRENCY);
  const problems = await Promise.all(
    served.map(({ file, content }) =>
      limit.run(async () => {
        const problem = await compareWithLegacy(env, file, content);
        return problem && `file ${file.id} (user ${file.user_id}): ${problem}`;
      }),
    ),
  );
  const failures = problems.filter((p) => p !== null);
  return { detail: `the legacy origin serves the bytes the app served for ${served.length - failures.length} of ${count(served.length, "file")}`, failures };
}

/** What is wrong with the legacy origin's copy of `file`, or null if it has the bytes the app served. */
async function compareWithLegacy(env: Env, file: SampledFile, served: Content): Promise<string | null> {
  if (file.legacy_file_path === null) return "D1 has no legacy file path for it";
  const relative = relativeMediaPath(file.legacy_file_path, env.LEGACY_MEDIA_ROOT);
  if (!relative.ok) return `its legacy path is unsafe (${relative.detail})`;
  const built = legacyFileUrl(env, relative.relativePath);
  if (!built.ok) return `its legacy path is unsafe (${built.detail})`;
  const signal = AbortSignal.timeout(LEGACY_TIMEOUT_MS);
  try {
    const res = await fetch(built.url, { redirect: "manual", signal });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      const gone = res.status === 404 || res.status === 410 ? "the legacy origin no longer has it: " : "";
      return `${gone}HTTP ${res.status} for ${built.url.pathname}`;
    }
    const legacy = await digest(res.body);
    if (legacy.sha256 === served.sha256 && legacy.bytes === served.bytes) return null;
    return `the legacy origin serves ${legacy.bytes} bytes with SHA-256 ${legacy.sha256}, the app ${served.bytes} bytes with ${served.sha256}`;
  } catch (e) {
    return signal.aborted ? `the legacy origin gave no complete answer within ${LEGACY_TIMEOUT_MS / 1000} s` : `fetching it from the legacy origin failed: ${errorText(e)}`;
  }
}

/** SHA-256 and length of a body, read as a stream (never held whole). */
async function digest(body: ReadableStream<Uint8Array> | null): Promise<Content> {
  const sha = new crypto.DigestStream("SHA-256");
  let bytes = 0;
  if (body) {
    const counted = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        bytes += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    await body.pipeThrough(counted).pipeTo(sha);
  } else await sha.getWriter().close();
  return { sha256: toHex(await sha.digest), bytes };
}
