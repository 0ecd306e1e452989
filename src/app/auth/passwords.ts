import { z } from "zod";
import type { Env } from "../../env";
import { MAX_ITERATIONS, pbkdf2Sha256, WEBCRYPTO_MAX_ITERATIONS } from "../../lib/pbkdf2";
import { fromBase64, toBase64 } from "../../lib/base64";

/** OWASP's current figure for PBKDF2-HMAC-SHA256. */
const DEFAULT_ITERATIONS = 600_000;
/** Lower settings are typos, not choices (production should use at least 100,000; tests use less). */
const MIN_ITERATIONS = 10_000;
/** Stored hashes above this (or above the work factor, if higher) are refused unchecked: a row must not be able to pin the CPU. */
const MAX_STORED_ITERATIONS = 2_000_000;

const iterationsSetting = z
  .string()
  .regex(/^\d{1,16}$/)
  .transform(Number)
  .pipe(z.number().int().min(MIN_ITERATIONS).max(MAX_ITERATIONS));

/**
 * The work factor (PASSWORD_ITERATIONS): the iteration count of new hashes, and what every password
 * check costs at least, whether or not the user exists.
 */
export function passwordWorkFactor(env: Pick<Env, "PASSWORD_ITERATIONS">): number {
  if (env.PASSWORD_ITERATIONS === undefined) return DEFAULT_ITERATIONS;
  const parsed = iterationsSetting.safeParse(env.PASSWORD_ITERATIONS);
  if (!parsed.success) throw new Error(`PASSWORD_ITERATIONS must be a whole number from ${MIN_ITERATIONS} to ${MAX_ITERATIONS}, not ${JSON.stringify(env.PASSWORD_ITERATIONS)}`);
  return parsed.data;
}

/** Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`, which legacy Django can verify too. */
export async function makePassword(password: string, iterations: number): Promise<string> {
  const salt = randomSalt();
  return `pbkdf2_sha256$${iterations}$${salt}$${toBase64(await pbkdf2Sha256(password, salt, iterations))}`;
}

export interface PasswordCheck {
  ok: boolean;
  /** The stored hash is weaker than the work factor: re-hash after a successful login. Never downwards. */
  outdated: boolean;
}

/**
 * Checks a password against a stored Django hash (null: no such user) in constant time; unknown
 * formats never match. Every check costs at least `workFactor` iterations, so that timing does not
 * tell an unknown user from a known one: an unknown user is checked against a dummy hash at the work
 * factor, and a weaker stored hash is topped up with dummy iterations. Stored hashes stronger than
 * the work factor cost what they cost.
 */
export async function checkPassword(password: string, stored: string | null, workFactor: number): Promise<PasswordCheck> {
  const parsed = stored === null ? null : parseHash(stored, Math.max(MAX_STORED_ITERATIONS, workFactor));
  const target = parsed ?? { iterations: workFactor, salt: "dummysalt0000", hash: new Uint8Array(32) };
  // Both runs on one implementation, so that their costs add up to what a single run would cost.
  const noble = Math.max(target.iterations, workFactor) > WEBCRYPTO_MAX_ITERATIONS;
  const derived = await pbkdf2Sha256(password, target.salt, target.iterations, { noble });
  if (target.iterations < workFactor) await pbkdf2Sha256(password, target.salt, workFactor - target.iterations, { noble });
  const ok = parsed !== null && crypto.subtle.timingSafeEqual(derived, target.hash);
  return { ok, outdated: ok && target.iterations < workFactor };
}

interface DjangoHash {
  iterations: number;
  salt: string;
  hash: Uint8Array;
}

function parseHash(stored: string, maxIterations: number): DjangoHash | null {
  const match = /^pbkdf2_sha256\$(\d{1,16})\$([^$]+)\$([A-Za-z0-9+/]{43}=)$/.exec(stored);
  const iterations = Number(match?.[1]);
  if (!match || iterations < 1 || iterations > maxIterations) return null;
  return { iterations, salt: match[2]!, hash: fromBase64(match[3]!) };
}

/** Registration rules: Django's defaults in spirit (length, not all digits, not the username). */
export function passwordProblems(password: string, username: string): string[] {
  const problems: string[] = [];
  if (password.length < 8) problems.push("This password is too short. It must contain at least 8 characters.");
  if (/^\d+$/.test(password)) problems.push("This password is entirely numeric.");
  if (username && password.toLowerCase().includes(username.toLowerCase())) problems.push("The password is too similar to the username.");
  return problems;
}

const SALT_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** 22 characters from [a-zA-Z0-9], as Django's get_random_string makes its salts (about 131 bits). */
function randomSalt(length = 22): string {
  let salt = "";
  while (salt.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length))) {
      // 248 = 4 × 62: dropping the bytes above keeps every character equally likely.
      if (byte < 248 && salt.length < length) salt += SALT_ALPHABET[byte % SALT_ALPHABET.length];
    }
  }
  return salt;
}

