import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import type { Failure, JobView } from "../../src/coordinator/model";
import type { CopyMessage } from "../../src/copy/messages";
import worker from "../../src/index";
import { relativeMediaPath, uploadKey } from "../../src/legacy/paths";
import { signJwt } from "../../src/lib/jwt";
import { TEST_JWT_SECRET, TEST_MEDIA_ROOT } from "../config";
import { adminJson, corpus, fastRetries, postJson, putExport, startJob, waitForJob } from "../helpers";
import { toCsv } from "../legacy-origin/corpus";

/** Export builders and shortcuts for the two-way canary tests: legacy rows written by hand. */

export interface LegacyUser {
  id: number;
  username: string;
  email?: string;
  /** A Django password hash (makePassword); LEGACY_PASSWORD_HASH by default. */
  password?: string;
  /** is_active on legacy; true by default. */
  isActive?: boolean;
}

/** The password hash users get unless they say otherwise: no password matches it. */
export const LEGACY_PASSWORD_HASH = "pbkdf2_sha256$1000$salt$aGFzaA==";

export interface LegacyFile {
  id: number;
  userId: number;
  fileId: string;
  /** An absolute legacy path the fixture origin serves. */
  path: string;
  userTags?: string[];
}

export interface LegacyFilter {
  id: number;
  userId: number;
  fileId: string | null;
  name: string;
  description?: string;
}

const pgArray = (items: readonly string[]) => `{${items.map((t) => JSON.stringify(t)).join(",")}}`;

export async function uploadExport(set: string, tables: { users: LegacyUser[]; files: LegacyFile[]; filters?: LegacyFilter[] }): Promise<void> {
  const csv = {
    users: toCsv(
      ["id", "username", "email", "password", "first_name", "last_name", "date_joined", "last_login", "is_active", "is_staff", "is_superuser"],
      tables.users.map((u) => [u.id, u.username, u.email ?? `${u.username}@legacy.example`, u.password ?? LEGACY_PASSWORD_HASH, "First", "Last", "2023-01-01 00:00:00+00", "", u.isActive === false ? "f" : "t", "f", "f"]),
    ),
    files: toCsv(
      ["id", "user_id", "file_id", "file_name", "file_path", "uploaded_at", "system_tags", "user_tags", "metadata"],
      tables.files.map((f) => [f.id, f.userId, f.fileId, `file-${f.id}.csv`, f.path, "2024-02-03 04:05:06+00", "{}", pgArray(f.userTags ?? []), "{}"]),
    ),
    filters: toCsv(
      ["id", "user_id", "file_id", "name", "description", "filter_config", "created_at"],
      (tables.filters ?? []).map((f) => [f.id, f.userId, f.fileId, f.name, f.description ?? "", JSON.stringify({ amount: "> 100" }), "2024-03-01 00:00:00+00"]),
    ),
  };
  for (const [table, text] of Object.entries(csv)) {
    const res = await putExport(set, table, text);
    if (res.status !== 201) throw new Error(`upload of ${set}/${table} failed: ${res.status} ${await res.text()}`);
  }
}

/** Paths of small files the fixture origin serves. */
export async function legacyPaths(): Promise<string[]> {
  return (await corpus()).files.filter((f) => !f.oversize && f.size > 0 && f.size < 50_000).map((f) => f.filePath);
}

export async function runJob(kind: "full" | "delta", exportSet: string): Promise<JobView> {
  return waitForJob(await startJob({ kind, exportSet, settings: fastRetries }));
}

export async function failuresOf(jobId: string): Promise<Failure[]> {
  return (await adminJson<{ failures: Failure[] }>(`/admin/jobs/${jobId}/failures`)).body.failures;
}

export function resolve(conflictId: number, body: unknown): Promise<{ status: number; body: any }> {
  return postJson(`/admin/conflicts/${conflictId}/resolve`, body);
}

/** An access token of the new app for a (migrated) user. */
export function tokenFor(userId: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return signJwt({ token_type: "access", user_id: userId, jti: crypto.randomUUID().replace(/-/g, ""), iat: now, exp: now + 300 }, TEST_JWT_SECRET);
}

export async function d1Row(table: "users" | "files" | "saved_filters", id: number | string): Promise<Record<string, any> | null> {
  return env.DB.prepare(`SELECT * FROM ${table} WHERE id = ?`).bind(id).first<Record<string, any>>();
}

export async function tagsOf(fileId: string): Promise<string[]> {
  const row = await d1Row("files", fileId);
  expect(row, fileId).not.toBeNull();
  return JSON.parse(row!.user_tags);
}

/** A full job's re-copy of an imported file reaching the copy consumer now. */
export async function deliverCopy(file: LegacyFile): Promise<void> {
  const relative = relativeMediaPath(file.path, TEST_MEDIA_ROOT);
  if (!relative.ok) throw new Error(relative.detail);
  const message: CopyMessage = {
    kind: "copy",
    jobId: crypto.randomUUID(),
    fetchTimeoutMs: 5_000,
    concurrency: 1,
    items: [
      {
        fileId: file.fileId,
        attempt: 1,
        sourcePath: relative.relativePath,
        r2Key: uploadKey(file.userId, file.fileId),
        expectedSize: null,
        record: { legacyId: file.id, userId: file.userId, fileName: `file-${file.id}.csv`, uploadedAt: "2024-02-03T04:05:06.000Z", systemTags: [], userTags: [], metadata: {}, legacyPath: file.path },
      },
    ],
  };
  const batch = createMessageBatch("file-copy", [{ id: `recopy-${file.id}`, timestamp: new Date(), attempts: 1, body: message }]);
  await worker.queue(batch as MessageBatch<unknown>, env);
  expect((await getQueueResult(batch, createExecutionContext())).explicitAcks).toEqual([`recopy-${file.id}`]);
}
