/** HS256 JSON Web Tokens (the format simplejwt issues), signed and checked by jose. */
import { decodeJwt, errors, jwtVerify, SignJWT, type JWTPayload } from "jose";

const ALGORITHM = "HS256";
/** Far longer than any token we or simplejwt issue: anything longer is not even parsed. */
const MAX_TOKEN_LENGTH = 8192;

const encoder = new TextEncoder();

function hmacKey(secret: string): Uint8Array {
  // An empty key is no key at all: anyone could sign with it.
  if (!secret) throw new Error("refusing to use an empty HMAC secret");
  return encoder.encode(secret);
}

export function signJwt(payload: Record<string, unknown>, secret: string): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: ALGORITHM, typ: "JWT" }).sign(hmacKey(secret));
}

/**
 * The payload of an HS256 token whose signature checks, that has not expired and that carries every
 * one of `requiredClaims`; else null. Any other algorithm ("none" included) is refused.
 */
export async function verifyJwt(token: string, secret: string, requiredClaims: readonly string[]): Promise<JWTPayload | null> {
  const key = hmacKey(secret);
  if (token.length > MAX_TOKEN_LENGTH) return null;
  try {
    return (await jwtVerify(token, key, { algorithms: [ALGORITHM], requiredClaims: [...requiredClaims] })).payload;
  } catch (e) {
    if (e instanceof errors.JOSEError) return null;
    throw e;
  }
}

/**
 * The payload of a token WITHOUT checking its signature, or null; never throws. Only for choosing a
 * traffic bucket: the backend that serves the request still authenticates it.
 */
export function unverifiedJwtPayload(token: string): Record<string, unknown> | null {
  if (token.length > MAX_TOKEN_LENGTH) return null;
  try {
    return decodeJwt(token);
  } catch {
    return null;
  }
}
