import { fromBase64, toBase64 } from "../lib/base64";

/**
 * Channel secrets at rest: AES-256-GCM under a key derived (HKDF-SHA256) from the Worker secret
 * ALERT_SECRETS_KEY, bound to the channel id as associated data, so a sealed value copied onto another
 * channel does not open. Without ALERT_SECRETS_KEY no channel can be created or used.
 */
const IV_BYTES = 12;
const MIN_KEY_CHARS = 32;
const encoder = new TextEncoder();

export class MissingKeyError extends Error {
  constructor() {
    super(`ALERT_SECRETS_KEY is not set: set it with \`wrangler secret put ALERT_SECRETS_KEY\` (at least ${MIN_KEY_CHARS} characters)`);
  }
}

/** Whether `secret` can seal channel secrets (set, at least MIN_KEY_CHARS characters). */
export function sealingKeyUsable(secret: string | undefined): secret is string {
  return secret !== undefined && secret.length >= MIN_KEY_CHARS;
}

async function sealingKey(secret: string | undefined): Promise<CryptoKey> {
  if (!sealingKeyUsable(secret)) throw new MissingKeyError();
  const material = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: encoder.encode("list-cutter alert channels"), info: encoder.encode("aes-256-gcm v1") },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

export async function seal(secret: string | undefined, channelId: string, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(channelId) }, await sealingKey(secret), encoder.encode(plaintext));
  const out = new Uint8Array(IV_BYTES + sealed.byteLength);
  out.set(iv);
  out.set(new Uint8Array(sealed), IV_BYTES);
  return toBase64(out);
}

export async function open(secret: string | undefined, channelId: string, sealed: string): Promise<string> {
  const bytes = fromBase64(sealed);
  const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.subarray(0, IV_BYTES), additionalData: encoder.encode(channelId) }, await sealingKey(secret), bytes.subarray(IV_BYTES));
  return new TextDecoder().decode(plain);
}
