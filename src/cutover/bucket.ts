import { toBase64Url } from "../lib/base64";

/** Traffic buckets: a request's bucket (0–9999) is compared with percent × 100. */
export const BUCKETS = 10_000;
export const BUCKET_COOKIE = "lc_bucket";

const encoder = new TextEncoder();

/** 32-bit FNV-1a over the UTF-8 bytes of `text`. Stable across isolates, releases and platforms. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export function bucketOf(hash: number): number {
  return hash % BUCKETS;
}

/** The sticky hash of a user: the same whichever request (or cookie) names them. */
export function userHash(userId: number): number {
  return fnv1a(`user:${userId}`);
}

/** What an lc_bucket cookie holds: an anonymous browser's hash, or the user it last identified as (signed). */
export type BucketCookie = { hash: number } | { userId: number; signature: string };

export function readBucketCookie(header: string | null): BucketCookie | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const [name, value] = part.trim().split("=", 2);
    if (name !== BUCKET_COOKIE || !value) continue;
    if (/^[0-9a-f]{8}$/.test(value)) return { hash: parseInt(value, 16) };
    const user = /^u([1-9]\d{0,14})\.([A-Za-z0-9_-]{22})$/.exec(value);
    if (user && Number.isSafeInteger(Number(user[1]))) return { userId: Number(user[1]), signature: user[2]! };
  }
  return null;
}

export function bucketCookie(value: BucketCookie): string {
  const text = "userId" in value ? `u${value.userId}.${value.signature}` : value.hash.toString(16).padStart(8, "0");
  return `${BUCKET_COOKIE}=${text}; Path=/; Max-Age=31536000; HttpOnly; Secure; SameSite=Lax`;
}

/**
 * Signs the user a bucket cookie names (HMAC-SHA256 with the new app's JWT_SECRET, 128 bits kept), so
 * that a cookie cannot name users at will: a user's cookie may make the gate ask D1 about them.
 */
export class CookieSigner {
  #key: Promise<CryptoKey> | null;

  constructor(secret: string | undefined) {
    this.#key = secret ? crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]) : null;
  }

  async sign(userId: number): Promise<string | null> {
    if (!this.#key) return null;
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await this.#key, encoder.encode(`lc_bucket:u${userId}`)));
    return toBase64Url(mac.subarray(0, 16));
  }

  async verify(userId: number, signature: string): Promise<boolean> {
    const expected = await this.sign(userId);
    if (expected === null || expected.length !== signature.length) return false;
    let diff = 0;
    for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ signature.charCodeAt(i);
    return diff === 0;
  }
}
