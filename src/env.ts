import type { AttemptLimiter } from "./app/attempt-limiter";
import type { MigrationCoordinator } from "./coordinator/coordinator";
import type { CopyMessage } from "./copy/messages";

export interface Env {
  DB: D1Database;
  FILES: R2Bucket;
  AUTH_TOKENS: KVNamespace;
  COORDINATOR: DurableObjectNamespace<MigrationCoordinator>;
  COPY_QUEUE: Queue<CopyMessage>;
  /** Atomic login-attempt counters, one Durable Object per (hashed) key. */
  ATTEMPT_LIMITER: DurableObjectNamespace<AttemptLimiter>;
  /** Origin of the legacy Django site, e.g. https://legacy.example.com. The only host the engine fetches. */
  LEGACY_ORIGIN: string;
  /** Django MEDIA_URL: the path under LEGACY_ORIGIN where MEDIA_ROOT is served, e.g. /media/. */
  LEGACY_MEDIA_URL: string;
  /** Django MEDIA_ROOT on the legacy server, e.g. /app/media. file_path values must lie under it. */
  LEGACY_MEDIA_ROOT: string;
  /** Largest file the engine copies, in bytes (decimal string). */
  MAX_FILE_SIZE: string;
  /** Bearer token for /admin/*. A secret: .dev.vars locally, `wrangler secret put` in deployments. */
  ADMIN_TOKEN: string;
  /** Signs the new app's JWTs (HS256). A secret. */
  JWT_SECRET: string;
  /** The legacy Django SECRET_KEY: simplejwt tokens it signed are accepted until they expire. A secret. */
  LEGACY_JWT_SECRET?: string;
  /** PBKDF2-SHA256 iterations for new password hashes (default 600000, OWASP's figure); set it to the legacy Django's count. */
  PASSWORD_ITERATIONS?: string;
  /** Legacy (simplejwt) tokens issued at or after this instant (ISO 8601) are refused; the cutover's completion sets one too. */
  LEGACY_TOKEN_CUTOFF?: string;
  /** simplejwt ACCESS_TOKEN_LIFETIME of the legacy site, seconds (default 300): longer-lived legacy access tokens are refused. */
  LEGACY_ACCESS_TOKEN_SECONDS?: string;
  /** simplejwt REFRESH_TOKEN_LIFETIME of the legacy site, seconds (default 86400). */
  LEGACY_REFRESH_TOKEN_SECONDS?: string;
  /** How long (ms) an isolate's gate trusts its copy of the cutover state (default 2000). */
  CUTOVER_CACHE_TTL_MS?: string;
  /** "off" serves every request from the new app with no gate at all: the benchmark's baseline only. */
  CUTOVER_GATE?: string;
}

export const COORDINATOR_NAME = "primary";

export function coordinator(env: Env) {
  return env.COORDINATOR.getByName(COORDINATOR_NAME);
}

export function maxFileSize(env: Env): number {
  const n = Number(env.MAX_FILE_SIZE);
  return Number.isSafeInteger(n) && n > 0 ? n : 50 * 1024 * 1024;
}
