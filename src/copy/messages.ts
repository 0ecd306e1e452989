/** What the coordinator sends the copy consumer, and what the consumer reports back. */

/** The D1 `files` row fields that come from the legacy export, carried with the item. */
export interface FileRecord {
  legacyId: number;
  userId: number;
  fileName: string;
  uploadedAt: string;
  systemTags: string[];
  userTags: string[];
  metadata: unknown;
  legacyPath: string;
}

export interface CopyItem {
  fileId: string;
  attempt: number;
  /** Path relative to LEGACY_MEDIA_ROOT, validated at planning and again before fetching. */
  sourcePath: string;
  r2Key: string;
  expectedSize: number | null;
  record: FileRecord;
}

export interface VerifyItem {
  fileId: string;
  attempt: number;
  r2Key: string;
  size: number;
  sha256: string;
}

export type CopyMessage =
  | { kind: "copy"; jobId: string; fetchTimeoutMs: number; concurrency: number; items: CopyItem[] }
  | { kind: "verify"; jobId: string; concurrency: number; items: VerifyItem[] };

export type FailureReason =
  // transient: retried with backoff until maxAttempts
  | "http_5xx"
  | "http_429"
  | "network"
  | "timeout"
  | "truncated"
  | "length_mismatch"
  | "storage"
  /** The queue refused a send (an outage, or a message it will never take: bounded by maxAttempts). */
  | "queue_send"
  // permanent: the item fails at once
  | "not_found"
  | "http_4xx"
  | "redirect"
  | "too_large"
  | "unsafe_path"
  | "unknown_user"
  | "checksum_mismatch"
  | "size_mismatch"
  | "missing_object"
  | "d1_mismatch"
  /** The file's user is not imported because of an open import conflict (its username is taken). */
  | "conflict"
  /** The item's own queue message would exceed the Queues message limit (large `metadata`). */
  | "message_too_large";

export const TRANSIENT_REASONS: ReadonlySet<FailureReason> = new Set([
  "http_5xx",
  "http_429",
  "network",
  "timeout",
  "truncated",
  "length_mismatch",
  "storage",
  "queue_send",
]);

export type ItemReport =
  /** `identical`: R2 already held these very bytes, so nothing was written (absent in reports from before it existed). */
  | { jobId: string; fileId: string; attempt: number; outcome: "done"; bytes: number; sha256: string; identical?: boolean }
  | { jobId: string; fileId: string; attempt: number; outcome: "failed"; reason: FailureReason; detail: string };
