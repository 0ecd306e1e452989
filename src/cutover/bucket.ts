import { unverifiedJwtPayload } from "../lib/jwt";

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

export interface StickyIdentity {
  /** The user id claimed by the bearer token (legacy simplejwt or ours), if any. */
  userId: number | null;
  ip: string | null;
  /** The sticky hash this request is bucketed by. */
  hash: number;
  /** Where the hash came from. */
  source: "user" | "cookie" | "ip" | "random";
  /** Set when the browser should be given (or corrected to) an lc_bucket cookie. */
  setCookie: string | null;
}

/**
 * Who a request is, for routing: the user id from the bearer token, else the lc_bucket cookie
 * (which holds the hash itself, so a browser keeps its bucket even if its IP changes), else the
 * client IP. A first visit gets a cookie holding the hash it was bucketed by. Malformed tokens and
 * cookies are ignored, never an error.
 */
export function stickyIdentity(request: Request): StickyIdentity {
  const userId = bearerUserId(request.headers.get("authorization"));
  const ip = request.headers.get("cf-connecting-ip");
  const cookie = cookieHash(request.headers.get("cookie"));
  if (userId !== null) return { userId, ip, hash: fnv1a(`user:${userId}`), source: "user", setCookie: null };
  if (cookie !== null) return { userId, ip, hash: cookie, source: "cookie", setCookie: null };
  const hash = ip ? fnv1a(`ip:${ip}`) : crypto.getRandomValues(new Uint32Array(1))[0]!;
  return { userId, ip, hash, source: ip ? "ip" : "random", setCookie: bucketCookie(hash) };
}

export function bucketOf(hash: number): number {
  return hash % BUCKETS;
}

function bearerUserId(authorization: string | null): number | null {
  const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? "")?.[1];
  if (!token) return null;
  const claim = unverifiedJwtPayload(token)?.user_id;
  const id = typeof claim === "string" && /^\d{1,15}$/.test(claim) ? Number(claim) : claim;
  return typeof id === "number" && Number.isSafeInteger(id) && id > 0 ? id : null;
}

function cookieHash(header: string | null): number | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const [name, value] = part.trim().split("=", 2);
    if (name === BUCKET_COOKIE && value && /^[0-9a-f]{8}$/.test(value)) return parseInt(value, 16);
  }
  return null;
}

function bucketCookie(hash: number): string {
  return `${BUCKET_COOKIE}=${hash.toString(16).padStart(8, "0")}; Path=/; Max-Age=31536000; HttpOnly; Secure; SameSite=Lax`;
}
