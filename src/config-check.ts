import type { Env } from "./env";

/** Secrets without which the Worker cannot do its job. LEGACY_JWT_SECRET is optional (no legacy tokens then). */
const REQUIRED_SECRETS = ["ADMIN_TOKEN", "JWT_SECRET"] as const;
export type RequiredSecret = (typeof REQUIRED_SECRETS)[number];

/** The required secrets that are missing or empty in this deployment. */
export function missingSecrets(env: Env): RequiredSecret[] {
  return REQUIRED_SECRETS.filter((name) => typeof env[name] !== "string" || env[name].length === 0);
}
