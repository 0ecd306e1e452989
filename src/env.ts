import type { AlertMessage } from "./alerts/model";
import type { CopyMessage } from "./copy/messages";

/**
 * The Worker's bindings and vars. Their types are generated from wrangler.toml by `npm run
 * cf-typegen` (worker-configuration.d.ts; `npm run typecheck` fails when it is out of date); this
 * adds what the generator cannot know and documents each one.
 *
 * Bindings: DB (D1), FILES (R2: file bytes, exports, bundles), AUTH_TOKENS (KV: revoked refresh
 * tokens, the scratch sweep's cursor), COORDINATOR (the MigrationCoordinator Durable Object),
 * ATTEMPT_LIMITER (atomic attempt counters, one Durable Object per hashed key), COPY_QUEUE,
 * ANALYTICS (Workers Analytics Engine: request and copy metrics for long history; optional, writes
 * are skipped without it).
 *
 * Vars: LEGACY_ORIGIN (the legacy Django site; the only host the engine and the proxy fetch),
 * LEGACY_MEDIA_URL (Django MEDIA_URL, e.g. /media/), LEGACY_MEDIA_ROOT (Django MEDIA_ROOT; file_path
 * values must lie under it), MAX_FILE_SIZE (bytes), CUTOVER_CACHE_TTL_MS (how long an isolate trusts
 * its copy of the cutover state; 2000), PASSWORD_ITERATIONS (PBKDF2-SHA256 iterations of new hashes;
 * 600000), LEGACY_ACCESS_TOKEN_SECONDS / LEGACY_REFRESH_TOKEN_SECONDS (simplejwt's lifetimes on the
 * legacy site; 300 / 86400), CUTOVER_GATE ("off" only for the gate benchmark's baseline).
 *
 * Secrets (.dev.vars locally, `wrangler secret put <NAME> --env …` in deployments): ADMIN_TOKEN
 * (bearer token of /admin/*), JWT_SECRET (signs the new app's tokens), LEGACY_JWT_SECRET (the legacy
 * Django SECRET_KEY, optional: without it no legacy token is accepted), ALERT_SECRETS_KEY (seals
 * alert channels' secrets; at least 32 characters).
 *
 * Alerts: ALERT_QUEUE (one message per event and channel), ALERT_RETRY_SECONDS, ALERT_ALLOW_HTTP,
 * ALERT_STALL_SECONDS, ALERT_MAX_SYNC_LAG_SECONDS (see wrangler.toml).
 */
export type Env = Omit<Cloudflare.Env, "COPY_QUEUE" | "LEGACY_JWT_SECRET" | "ANALYTICS" | "ALERT_QUEUE" | "ALERT_SECRETS_KEY"> & {
  COPY_QUEUE: Queue<CopyMessage>;
  LEGACY_JWT_SECRET?: string;
  ANALYTICS?: AnalyticsEngineDataset;
  ALERT_QUEUE: Queue<AlertMessage>;
  /** Seals alert channels' secrets (alerts/secrets.ts); without it no channel can be added or used. */
  ALERT_SECRETS_KEY?: string;
  /** Set by the operator when needed: legacy tokens issued at or after this instant (ISO 8601) are refused; the cutover's completion sets one too. */
  LEGACY_TOKEN_CUTOFF?: string;
};

export const COORDINATOR_NAME = "primary";

/** The coordinator instance `name`: "primary" holds the environment's jobs and cutover; tests use their own. */
export function coordinator(env: Env, name = COORDINATOR_NAME) {
  return env.COORDINATOR.getByName(name);
}

/** A numeric var that must be positive (a count, a duration), or `fallback` when it is unset or is not. */
export function positiveVar(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

export function maxFileSize(env: Env): number {
  const n = Number(env.MAX_FILE_SIZE);
  return Number.isSafeInteger(n) && n > 0 ? n : 50 * 1024 * 1024;
}
