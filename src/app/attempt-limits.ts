import type { Env } from "../env";
import { clientAddressKey } from "../lib/client-address";
import { toHex } from "../lib/hex";

/**
 * Login attempts allowed per window: per username from one client address, and per address. No
 * limit is per username alone, so that nobody can lock a user out from everywhere: an attacker's
 * attempts block only the attacker's address for that username. An address is an IPv4 address or
 * an IPv6 /64 (see clientAddressKey).
 */
const WINDOW_SECONDS = 15 * 60;
const PER_USERNAME_AND_ADDRESS = 5;
const PER_ADDRESS = 30;

/**
 * Other costly things an anonymous client may do, per address: registering (a password hash, and an
 * answer that tells whether a username is taken), csv_cutter uploads and cuts of them.
 */
const ADDRESS_LIMITS = {
  register: { limit: 10, windowSeconds: 60 * 60 },
  scratchUpload: { limit: 60, windowSeconds: 60 * 60 },
  scratchExport: { limit: 120, windowSeconds: 60 * 60 },
} as const;

/** The AttemptLimiter instances counting one login's attempts. */
export interface LimiterNames {
  pair: string;
  /** Null without a client address (local development and tests): there is nothing to count by, as in takeAddressAttempt. */
  address: string | null;
}

/** Names are SHA-256 hex of the key: bounded in length, whatever the username, and never the username itself. */
export async function limiterNames(username: string, ip: string | null): Promise<LimiterNames> {
  const address = clientAddressKey(ip);
  const [pair, byAddress] = await Promise.all([sha256Hex(JSON.stringify(["pair", username.toLowerCase(), address])), ip ? sha256Hex(JSON.stringify(["address", address])) : null]);
  return { pair, address: byAddress };
}

/** Takes an attempt from both counters: the seconds to wait if either is used up, else null. */
export async function takeLoginAttempt(env: Env, names: LimiterNames): Promise<number | null> {
  const results = await Promise.all([
    env.ATTEMPT_LIMITER.getByName(names.pair).attempt(PER_USERNAME_AND_ADDRESS, WINDOW_SECONDS),
    ...(names.address ? [env.ATTEMPT_LIMITER.getByName(names.address).attempt(PER_ADDRESS, WINDOW_SECONDS)] : []),
  ]);
  const denied = results.filter((r) => !r.allowed);
  return denied.length === 0 ? null : Math.max(...denied.map((r) => r.retryAfter));
}

/**
 * After a successful login: the username's count from this address starts again, and the address
 * gets its attempt back (so that many users behind one address can log in), while the failures it
 * made stay counted.
 */
export async function loginSucceeded(env: Env, names: LimiterNames): Promise<void> {
  await Promise.all([env.ATTEMPT_LIMITER.getByName(names.pair).succeeded(), names.address && env.ATTEMPT_LIMITER.getByName(names.address).refund()]);
}

/**
 * Takes one of the address's `action` attempts: the seconds to wait if they are used up, else null.
 * Without an address (local development and tests; Cloudflare always sets CF-Connecting-IP) there is
 * nothing to count by.
 */
export async function takeAddressAttempt(env: Env, action: keyof typeof ADDRESS_LIMITS, ip: string | null): Promise<number | null> {
  if (!ip) return null;
  const { limit, windowSeconds } = ADDRESS_LIMITS[action];
  const name = await sha256Hex(JSON.stringify([action, clientAddressKey(ip)]));
  const result = await env.ATTEMPT_LIMITER.getByName(name).attempt(limit, windowSeconds);
  return result.allowed ? null : result.retryAfter;
}

async function sha256Hex(text: string): Promise<string> {
  return toHex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}
