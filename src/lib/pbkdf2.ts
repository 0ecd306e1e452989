/**
 * PBKDF2-HMAC-SHA256. WebCrypto does the work where it can; Cloudflare's production runtime refuses
 * more than 100,000 iterations (the open-source workerd used locally does not), and Django hashes
 * use far more, so above that a plain-JS implementation takes over (about 1 s of CPU at 870,000).
 */

/** The most iterations Workers' WebCrypto accepts in production. */
export const WEBCRYPTO_MAX_ITERATIONS = 100_000;
/** Refuse absurd counts outright: a stored hash must not be able to pin the CPU. */
export const MAX_ITERATIONS = 2_000_000;

const encoder = new TextEncoder();

export async function pbkdf2Sha256(password: string, salt: string, iterations: number, bytes = 32): Promise<Uint8Array> {
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) throw new Error(`unsupported iteration count ${iterations}`);
  if (iterations > WEBCRYPTO_MAX_ITERATIONS) return pbkdf2Js(encoder.encode(password), encoder.encode(salt), iterations, bytes);
  const key = await crypto.subtle.importKey("raw", encoder.encode(password), "PBKDF2", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: encoder.encode(salt), iterations }, key, bytes * 8));
}

// ── SHA-256 compression and HMAC with precomputed pads (two compressions per PBKDF2 round) ─────

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const W = new Uint32Array(64);

/** One SHA-256 compression of the 16-word block `m` into `state`. */
function compress(state: Uint32Array, m: Uint32Array): void {
  for (let i = 0; i < 16; i++) W[i] = m[i]!;
  for (let i = 16; i < 64; i++) {
    const a = W[i - 15]!;
    const b = W[i - 2]!;
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = state[0]!, b = state[1]!, c = state[2]!, d = state[3]!, e = state[4]!, f = state[5]!, g = state[6]!, h = state[7]!;
  for (let i = 0; i < 64; i++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
  state[4] = (state[4]! + e) | 0;
  state[5] = (state[5]! + f) | 0;
  state[6] = (state[6]! + g) | 0;
  state[7] = (state[7]! + h) | 0;
}

/** SHA-256 of arbitrary bytes (used only for long HMAC keys and the first round's message). */
function sha256(data: Uint8Array, prefix?: Uint32Array): Uint32Array {
  const state = prefix ? Uint32Array.from(prefix) : Uint32Array.from(IV);
  const offset = prefix ? 64 : 0;
  const total = data.length + offset;
  const padded = new Uint8Array(Math.ceil((data.length + 9) / 64) * 64);
  padded.set(data);
  padded[data.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 4, (total * 8) >>> 0);
  view.setUint32(padded.length - 8, Math.floor((total * 8) / 2 ** 32));
  const block = new Uint32Array(16);
  for (let i = 0; i < padded.length; i += 64) {
    for (let j = 0; j < 16; j++) block[j] = view.getUint32(i + j * 4);
    compress(state, block);
  }
  return state;
}

function pbkdf2Js(password: Uint8Array, salt: Uint8Array, iterations: number, bytes: number): Uint8Array {
  const key = password.length > 64 ? wordsToBytes(sha256(password)) : password;
  const pad = (byte: number) => {
    const block = new Uint8Array(64).fill(byte);
    key.forEach((k, i) => (block[i] = k ^ byte));
    const words = new Uint32Array(16);
    const view = new DataView(block.buffer);
    for (let j = 0; j < 16; j++) words[j] = view.getUint32(j * 4);
    const state = Uint32Array.from(IV);
    compress(state, words);
    return state;
  };
  const inner = pad(0x36);
  const outer = pad(0x5c);
  const out = new Uint8Array(bytes);
  // A 32-byte message after a 64-byte pad: one block with fixed padding (length 96 bytes = 768 bits).
  const block = new Uint32Array(16);
  block[8] = 0x80000000;
  block[15] = 768;
  const state = new Uint32Array(8);
  for (let index = 1; index * 32 - 32 < bytes; index++) {
    const first = new Uint8Array(salt.length + 4);
    first.set(salt);
    new DataView(first.buffer).setUint32(salt.length, index);
    let u = sha256(wordsToBytes(sha256(first, inner)), outer);
    const t = Uint32Array.from(u);
    for (let i = 1; i < iterations; i++) {
      block.set(u, 0);
      state.set(inner);
      compress(state, block);
      block.set(state, 0);
      state.set(outer);
      compress(state, block);
      u = state;
      for (let j = 0; j < 8; j++) t[j]! ^= state[j]!;
    }
    out.set(wordsToBytes(t).subarray(0, Math.min(32, bytes - (index - 1) * 32)), (index - 1) * 32);
  }
  return out;
}

function wordsToBytes(words: Uint32Array): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  const view = new DataView(out.buffer);
  words.forEach((w, i) => view.setUint32(i * 4, w));
  return out;
}

/** For tests: the plain-JS path whatever the count. */
export const pbkdf2JsForTests = (password: string, salt: string, iterations: number, bytes = 32) => pbkdf2Js(encoder.encode(password), encoder.encode(salt), iterations, bytes);
