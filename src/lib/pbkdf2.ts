/**
 * PBKDF2-HMAC-SHA256. WebCrypto does the work where it can; Cloudflare's production runtime refuses
 * more than 100,000 iterations (the open-source workerd used locally does not), and Django hashes
 * use far more, so above that the audited @noble/hashes implementation takes over (about 1.6 s of
 * CPU at 600,000 iterations in a bundled Worker).
 */
import { pbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha256 } from "@noble/hashes/sha2.js";

/** The most iterations Workers' WebCrypto accepts in production. */
export const WEBCRYPTO_MAX_ITERATIONS = 100_000;
/** Refuse absurd counts outright: a stored hash or a setting must not be able to pin the CPU. */
export const MAX_ITERATIONS = 9_999_999;

export interface Pbkdf2Options {
  /** Derived key length in bytes (default 32, Django's). */
  bytes?: number;
  /**
   * Use @noble/hashes even at a count WebCrypto accepts, so that the cost of this run adds up with
   * that of another run done in JavaScript (see checkPassword's top-up).
   */
  noble?: boolean;
}

const encoder = new TextEncoder();

export async function pbkdf2Sha256(password: string, salt: string, iterations: number, options: Pbkdf2Options = {}): Promise<Uint8Array> {
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) throw new Error(`unsupported iteration count ${iterations}`);
  const bytes = options.bytes ?? 32;
  if (options.noble || iterations > WEBCRYPTO_MAX_ITERATIONS) return pbkdf2(sha256, encoder.encode(password), encoder.encode(salt), { c: iterations, dkLen: bytes });
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: encoder.encode(salt), iterations }, key, bytes * 8));
}
