import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../env";

/** Placeholder: replaced by the atomic login-attempt limiter. */
export class LoginLimiter extends DurableObject<Env> {}
