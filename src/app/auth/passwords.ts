import { base64UrlEncode } from "../../lib/jwt";
import { pbkdf2Sha256, WEBCRYPTO_MAX_ITERATIONS } from "../../lib/pbkdf2";

/** New passwords: PBKDF2-SHA256 at the highest count Workers' WebCrypto allows, in Django's format. */
export const NEW_ITERATIONS = WEBCRYPTO_MAX_ITERATIONS;

/** A hash to spend the same time on when the user does not exist, so timing reveals nothing. */
const DUMMY_HASH = "pbkdf2_sha256$100000$dummysalt0000$hT1JGqPO9zy2u4ZVv1P1wuWsBoxJ1EGeGPm5nWfTgJI=";

/** Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`. */
export async function makePassword(password: string): Promise<string> {
  const salt = base64UrlEncode(crypto.getRandomValues(new Uint8Array(16))).replace(/[-_]/g, "x").slice(0, 22);
  const hash = await pbkdf2Sha256(password, salt, NEW_ITERATIONS);
  return `pbkdf2_sha256$${NEW_ITERATIONS}$${salt}$${btoa(String.fromCharCode(...hash))}`;
}

export interface PasswordCheck {
  ok: boolean;
  /** The stored hash is weaker than what we would make now: re-hash after a successful login. */
  outdated: boolean;
}

/** Checks a password against a stored Django hash in constant time. Unknown formats never match. */
export async function checkPassword(password: string, stored: string | null): Promise<PasswordCheck> {
  const parts = (stored ?? DUMMY_HASH).split("$");
  const [algorithm, iterationsText, salt, expected] = parts;
  if (parts.length !== 4 || algorithm !== "pbkdf2_sha256" || !/^\d+$/.test(iterationsText!) || !salt || !expected) {
    await checkPassword(password, null);
    return { ok: false, outdated: false };
  }
  const iterations = Number(iterationsText);
  let derived: Uint8Array;
  try {
    derived = await pbkdf2Sha256(password, salt, iterations);
  } catch {
    return { ok: false, outdated: false };
  }
  let expectedBytes: Uint8Array;
  try {
    expectedBytes = Uint8Array.from(atob(expected), (c) => c.charCodeAt(0));
  } catch {
    return { ok: false, outdated: false };
  }
  const ok = stored !== null && expectedBytes.length === derived.length && crypto.subtle.timingSafeEqual(derived, expectedBytes);
  return { ok, outdated: ok && iterations !== NEW_ITERATIONS };
}

/** Registration rules: Django's defaults in spirit (length, not all digits, not the username). */
export function passwordProblems(password: string, username: string): string[] {
  const problems: string[] = [];
  if (password.length < 8) problems.push("This password is too short. It must contain at least 8 characters.");
  if (/^\d+$/.test(password)) problems.push("This password is entirely numeric.");
  if (username && password.toLowerCase().includes(username.toLowerCase())) problems.push("The password is too similar to the username.");
  return problems;
}
