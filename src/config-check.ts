import { passwordWorkFactor } from "./app/auth/passwords";
import { legacySettingProblems } from "./app/auth/tokens";
import type { Env } from "./env";

/** Secrets without which the Worker cannot do its job. LEGACY_JWT_SECRET is optional (no legacy tokens then). */
const REQUIRED_SECRETS = ["ADMIN_TOKEN", "JWT_SECRET"] as const;
type RequiredSecret = (typeof REQUIRED_SECRETS)[number];

/** The required secrets that are missing or empty in this deployment. */
function missingSecrets(env: Env): RequiredSecret[] {
  return REQUIRED_SECRETS.filter((name) => typeof env[name] !== "string" || env[name].length === 0);
}

/**
 * Settings the new app cannot work with: a missing secret, or a PASSWORD_ITERATIONS it refuses
 * (either makes it answer 503), or legacy token settings it cannot read (legacy tokens are then
 * refused). /health lists them all.
 */
export function configProblems(env: Env): { blocking: string[]; degraded: string[] } {
  const blocking: string[] = missingSecrets(env).map((name) => `${name} is not set`);
  try {
    passwordWorkFactor(env);
  } catch (e) {
    blocking.push((e as Error).message);
  }
  return { blocking, degraded: legacySettingProblems(env) };
}
