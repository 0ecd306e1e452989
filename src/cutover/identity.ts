import { HttpError } from "../lib/http";
import { DEFAULT_JSON_BODY_BYTES, readBodyBytes } from "../lib/json-body";
import { unverifiedJwtPayload } from "../lib/jwt";
import { bucketCookie, type CookieSigner, fnv1a, readBucketCookie, userHash } from "./bucket";
import type { UserDirectory } from "./user-directory";

export interface StickyIdentity {
  /**
   * The user the request names, unverified (the backend that serves it authenticates it): the
   * claim of its bearer token or of the refresh token it posts, the id of the username it logs in
   * with, or the user its (signed) lc_bucket cookie names.
   */
  userId: number | null;
  /** The token that named the user (bearer or refresh), to be checked before D1 is asked about them. */
  token: string | null;
  /** A login with a username the new app does not hold: only legacy can know that user. */
  unknownUser: boolean;
  /** D1 could not be asked about a login's username: the login is routed as an anonymous request. */
  lookupFailed: boolean;
  ip: string | null;
  /** The sticky hash this request is bucketed by. */
  hash: number;
  source: "token" | "login" | "refresh" | "cookie-user" | "cookie" | "ip" | "random";
  /** An lc_bucket cookie to give the browser (a first visit, or a user it has not identified as yet). */
  setCookie: string | null;
  /** The cookie names a user: only a successful answer may carry it. */
  cookieOnSuccess: boolean;
}

/** The paths whose body names the user: a login's username, a refresh's token. */
const LOGIN = /^\/api\/accounts\/login\/?$/;
const REFRESH = /^\/api\/accounts\/token\/refresh\/?$/;
/** The new app's own limit for JSON bodies: a larger login or refresh is refused by the gate (413). */
export const PEEK_BYTES = DEFAULT_JSON_BODY_BYTES;

/**
 * Who a request is, for routing, from its headers alone: the user its bearer token claims, else the
 * user its lc_bucket cookie names (`cookieUser`, once its signature is checked), else the cookie's
 * hash (so that a browser keeps its bucket when its IP changes), else the client IP. Malformed
 * tokens and cookies are ignored, never an error. `cookie` is the request's lc_bucket cookie, for a
 * caller that has read it already.
 */
export function headerIdentity(request: Request, cookieUser: number | null = null, cookie = readBucketCookie(request.headers.get("cookie"))): StickyIdentity {
  const ip = request.headers.get("cf-connecting-ip");
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.get("authorization") ?? "")?.[1] ?? null;
  const claimed = claimedUserId(bearer);
  if (claimed !== null) return forUser(claimed, "token", ip, bearer);
  if (cookieUser !== null) return { ...forUser(cookieUser, "cookie-user", ip, null), setCookie: null };
  if (cookie && "hash" in cookie) return { ...anonymous(ip, cookie.hash), source: "cookie" };
  const hash = ip ? fnv1a(`ip:${ip}`) : crypto.getRandomValues(new Uint32Array(1))[0]!;
  return { ...anonymous(ip, hash), source: ip ? "ip" : "random", setCookie: bucketCookie({ hash }) };
}

export interface Identified {
  who: StickyIdentity;
  /** The request to forward (a peeked body is put back). */
  request: Request;
  /** A login's or refresh's body, as read. */
  body: Uint8Array | null;
}

/**
 * Who a request is, for routing: as headerIdentity, except that a login is the user of its username
 * (one D1 read) and a refresh the user of its refresh token, so that a user's login, refresh and
 * authenticated calls are one identity. Login and refresh bodies are read whole (at most the new
 * app's JSON limit: 413 above it; JSON or form-encoded, 415 otherwise), so that no body can be
 * shaped to be routed by a cookie instead of its user; the request is returned with its body.
 */
export async function identify(request: Request, users: UserDirectory, signer: CookieSigner): Promise<Identified> {
  const { pathname } = new URL(request.url);
  const cookie = readBucketCookie(request.headers.get("cookie"));
  const cookieUser = cookie && "userId" in cookie && (await signer.verify(cookie.userId, cookie.signature)) ? cookie.userId : null;
  let who = headerIdentity(request, cookieUser, cookie);
  const isLogin = LOGIN.test(pathname);
  if (request.method !== "POST" || !(isLogin || REFRESH.test(pathname))) return { who: await signed(who, cookieUser, signer), request, body: null };

  const body = await readBodyBytes(request, PEEK_BYTES);
  const fields = bodyFields(request.headers.get("content-type"), body);
  if (isLogin && typeof fields?.username === "string" && fields.username.length <= 150) {
    try {
      const id = await users.idOf(fields.username);
      who = id === null ? { ...who, userId: null, token: null, unknownUser: true, setCookie: null, cookieOnSuccess: false } : forUser(id, "login", who.ip, null);
    } catch (e) {
      console.error("username lookup failed; the login is routed as an anonymous request:", e);
      who = { ...headerIdentity(request, null, cookie), lookupFailed: true };
    }
  }
  const refresh = !isLogin && typeof fields?.refresh === "string" ? fields.refresh : null;
  const refreshed = claimedUserId(refresh);
  if (refreshed !== null) who = forUser(refreshed, "refresh", who.ip, refresh);
  return { who: await signed(who, cookieUser, signer), request: new Request(request, { body }), body };
}

function anonymous(ip: string | null, hash: number): StickyIdentity {
  return { userId: null, token: null, unknownUser: false, lookupFailed: false, ip, hash, source: "ip", setCookie: null, cookieOnSuccess: false };
}

function forUser(userId: number, source: StickyIdentity["source"], ip: string | null, token: string | null): StickyIdentity {
  return { userId, token, unknownUser: false, lookupFailed: false, ip, hash: userHash(userId), source, setCookie: null, cookieOnSuccess: true };
}

/** The identity with the signed cookie naming its user, unless the browser holds that one already. */
async function signed(who: StickyIdentity, cookieUser: number | null, signer: CookieSigner): Promise<StickyIdentity> {
  if (who.userId === null || !who.cookieOnSuccess || who.userId === cookieUser) return who;
  const signature = await signer.sign(who.userId);
  return signature ? { ...who, setCookie: bucketCookie({ userId: who.userId, signature }) } : who;
}

/** The user id a token claims (simplejwt's `user_id`: an integer or a string of digits), unverified. */
function claimedUserId(token: string | null | undefined): number | null {
  if (!token) return null;
  const claim = unverifiedJwtPayload(token)?.user_id;
  const id = typeof claim === "string" && /^\d{1,15}$/.test(claim) ? Number(claim) : claim;
  return typeof id === "number" && Number.isSafeInteger(id) && id > 0 ? id : null;
}

/**
 * A login's or refresh's fields, read as Django REST Framework's parsers would (form-encoded, else
 * JSON); null for a body that is neither (both sides refuse it). Multipart, which legacy would parse
 * but the gate does not, is refused: the gate could not tell whose it is.
 */
function bodyFields(contentType: string | null, body: Uint8Array): Record<string, unknown> | null {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "multipart/form-data") throw new HttpError(415, "a login or refresh body must be JSON or form-encoded", "content-type");
  const text = new TextDecoder().decode(body);
  if (type === "application/x-www-form-urlencoded") return Object.fromEntries(new URLSearchParams(text));
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
