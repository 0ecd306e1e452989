import { pbkdf2 as pbkdf2Callback, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import type http from "node:http";
import { promisify } from "node:util";
import { errors, jwtVerify, SignJWT, type JWTPayload } from "jose";
import type { Corpus, CorpusFile } from "./corpus.ts";

/**
 * The legacy accounts API as Django + djangorestframework-simplejwt 5 (default SIMPLE_JWT settings)
 * answers it, in memory, for the fixture legacy origin: login, refresh, register, the current user
 * and the file list, with simplejwt's tokens, checks and error bodies. What simplejwt does is cited
 * by the name of the Python code that does it (rest_framework_simplejwt.tokens.Token.verify, ...).
 *
 * Deliberate simplifications: bodies are parsed as JSON whatever their Content-Type (DRF would also
 * take forms), and a successful login does not re-hash a password to Django's current iteration count.
 */

export interface AccountUser {
  id: number;
  username: string;
  email: string;
  /** Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`. */
  passwordHash: string;
  isActive: boolean;
}

export interface Accounts {
  /** `PUT /__accounts` (a JSON array of users replaces them all) and `GET /__accounts`. */
  control(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;
  /** Serves `path` if it is an accounts API path (true), else leaves the request alone (false). */
  handle(req: http.IncomingMessage, res: http.ServerResponse, path: string): Promise<boolean>;
}

/** simplejwt's default lifetimes (SIMPLE_JWT ACCESS_TOKEN_LIFETIME and REFRESH_TOKEN_LIFETIME). */
export const LEGACY_ACCESS_SECONDS = 5 * 60;
export const LEGACY_REFRESH_SECONDS = 24 * 60 * 60;
/** Hashes of users registered here: Django's format, with a cheap work factor. */
const REGISTER_ITERATIONS = 1_000;
/** Caps on request bodies: the API's small JSON bodies, and /__accounts, which may list thousands of users. */
const MAX_BODY_BYTES = 64 * 1024;
const MAX_CONTROL_BYTES = 32 * 1024 * 1024;

const pbkdf2 = promisify(pbkdf2Callback);
const AUTH_REALM = { "www-authenticate": 'Bearer realm="api"' };
const REQUIRED = "This field is required.";
const BLANK = "This field may not be blank.";

type TokenType = "access" | "refresh";
type Verified = { ok: true; payload: JWTPayload } | { ok: false; message: string };

export function createAccounts(corpus: Corpus, secretKey: string): Accounts {
  if (!secretKey) throw new Error("the legacy origin needs a SECRET_KEY to sign tokens");
  const key = new TextEncoder().encode(secretKey);
  let users: AccountUser[] = corpus.users.map((u) => ({ id: u.id, username: u.username, email: u.email, passwordHash: u.passwordHash, isActive: true }));

  /** simplejwt's Token(token) for an encoded token: PyJWT's decode, then Token.verify. */
  async function verifyToken(token: string, type: TokenType): Promise<Verified> {
    let payload: JWTPayload;
    try {
      // TokenBackend.decode: jwt.decode(token, SIGNING_KEY, algorithms=["HS256"]) checks the
      // signature, exp and nbf (no leeway).
      payload = (await jwtVerify(token, key, { algorithms: ["HS256"] })).payload;
    } catch (e) {
      if (e instanceof errors.JOSEError) return { ok: false, message: "Token is invalid or expired" };
      throw e;
    }
    // PyJWT 2 also refuses an `iat` in the future, and any `aud` when no AUDIENCE is configured.
    if ((typeof payload.iat === "number" && payload.iat > Math.floor(Date.now() / 1000)) || payload.aud) return { ok: false, message: "Token is invalid or expired" };
    // Token.verify: check_exp, then the jti claim, then verify_token_type.
    if (payload.exp === undefined) return { ok: false, message: "Token has no 'exp' claim" };
    if (payload.exp <= Date.now() / 1000) return { ok: false, message: "Token 'exp' claim has expired" };
    if (!("jti" in payload)) return { ok: false, message: "Token has no id" };
    if (!("token_type" in payload)) return { ok: false, message: "Token has no type" };
    if (payload.token_type !== type) return { ok: false, message: "Token has wrong type" };
    return { ok: true, payload };
  }

  function sign(payload: Record<string, unknown>): Promise<string> {
    // PyJWT's header, keys sorted: {"alg":"HS256","typ":"JWT"}; the claims in simplejwt's order.
    return new SignJWT(payload).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key);
  }

  /** Token.__init__ of a new token: token_type, exp, iat, jti (uuid4().hex), in that order. */
  function newClaims(type: TokenType, now: number): Record<string, unknown> {
    const lifetime = type === "access" ? LEGACY_ACCESS_SECONDS : LEGACY_REFRESH_SECONDS;
    return { token_type: type, exp: now + lifetime, iat: now, jti: randomUUID().replace(/-/g, "") };
  }

  /**
   * RefreshToken.access_token: a new access token whose exp counts from now, and which copies every
   * other claim of the refresh token but token_type, exp and jti; `iat` included, so an access token
   * refreshed later still carries the login's `iat`.
   */
  function accessFrom(refresh: Record<string, unknown>, now: number): Record<string, unknown> {
    const access = newClaims("access", now);
    for (const [claim, value] of Object.entries(refresh)) if (!["token_type", "exp", "jti"].includes(claim)) access[claim] = value;
    return access;
  }

  /** JWTAuthentication.authenticate, then IsAuthenticated: the user, or the 401 DRF answers. */
  async function authenticate(req: http.IncomingMessage): Promise<{ user: AccountUser } | { status: number; body: unknown }> {
    const parts = (req.headers.authorization ?? "").split(/\s+/).filter(Boolean);
    if (parts.length === 0 || parts[0] !== "Bearer") return { status: 401, body: { detail: "Authentication credentials were not provided." } };
    if (parts.length !== 2) return { status: 401, body: { detail: "Authorization header must contain two space-delimited values", code: "bad_authorization_header" } };
    const verified = await verifyToken(parts[1]!, "access");
    if (!verified.ok) {
      const messages = [{ token_class: "AccessToken", token_type: "access", message: verified.message }];
      return { status: 401, body: { detail: "Given token not valid for any token type", code: "token_not_valid", messages } };
    }
    if (!("user_id" in verified.payload)) return { status: 401, body: { detail: "Token contained no recognizable user identification", code: "token_not_valid" } };
    const user = users.find((u) => sameId(u.id, verified.payload.user_id));
    if (!user) return { status: 401, body: { detail: "User not found", code: "user_not_found" } };
    if (!user.isActive) return { status: 401, body: { detail: "User is inactive", code: "user_inactive" } };
    return { user };
  }

  /** Which of the two authenticated views serves `path` (both are GET-only, authenticated first). */
  const authenticated: Record<string, (user: AccountUser) => unknown> = {
    "/api/accounts/user/": (user) => ({ id: user.id, username: user.username, email: user.email }),
    "/api/list_cutter/list_saved_files/": (user) => ({ files: corpus.files.filter((f) => f.userId === user.id).map(savedFileShape) }),
  };

  const posts: Record<string, (body: Record<string, unknown>) => Promise<[number, unknown]>> = {
    /** TokenObtainPairView. */
    "/api/accounts/login/": async (body) => {
      const fields = charFields(body, ["username", "password"]);
      if ("errors" in fields) return [400, fields.errors];
      // ModelBackend.authenticate, then simplejwt's USER_AUTHENTICATION_RULE (an active user).
      const user = users.find((u) => u.username === fields.values.username);
      const passwordOk = await checkPassword(fields.values.password!, user?.passwordHash ?? null);
      if (!user || !passwordOk || !user.isActive) return [401, { detail: "No active account found with the given credentials" }];
      const now = Math.floor(Date.now() / 1000);
      const refresh = { ...newClaims("refresh", now), user_id: user.id };
      return [200, { refresh: await sign(refresh), access: await sign(accessFrom(refresh, now)) }];
    },
    /** TokenRefreshView (ROTATE_REFRESH_TOKENS off): the TokenError's message is the detail. */
    "/api/accounts/token/refresh/": async (body) => {
      const fields = charFields(body, ["refresh"]);
      if ("errors" in fields) return [400, fields.errors];
      const verified = await verifyToken(fields.values.refresh!, "refresh");
      if (!verified.ok) return [401, { detail: verified.message, code: "token_not_valid" }];
      return [200, { access: await sign(accessFrom(verified.payload, Math.floor(Date.now() / 1000))) }];
    },
    /** The legacy RegisterView: field errors first (the username's uniqueness is one), then the passwords. */
    "/api/accounts/register/": async (body) => {
      const fields = charFields(body, ["username", "password", "password2"]);
      const errors: Record<string, string[]> = "errors" in fields ? fields.errors : {};
      const username = "values" in fields ? fields.values.username! : typeof body.username === "string" ? body.username.trim() : "";
      const taken = () => users.some((u) => u.username === username);
      if (!errors.username && taken()) errors.username = ["A user with that username already exists."];
      if (!errors.username && !/^[\p{L}\p{N}_.@+-]{1,150}$/u.test(username)) errors.username = ["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."];
      if (body.email !== undefined && typeof body.email !== "string") errors.email = ["Not a valid string."];
      if (Object.keys(errors).length > 0 || !("values" in fields)) return [400, errors];
      if (fields.values.password !== fields.values.password2) return [400, { non_field_errors: ["Passwords do not match"] }];
      const passwordHash = await makePassword(fields.values.password!, REGISTER_ITERATIONS);
      // Checked again after the hash (another registration may have come in meanwhile), as the unique index would.
      if (taken()) return [400, { username: ["A user with that username already exists."] }];
      const id = users.reduce((max, u) => Math.max(max, u.id), 0) + 1;
      users.push({ id, username, email: typeof body.email === "string" ? body.email.trim() : "", passwordHash, isActive: true });
      return [201, { detail: "User created successfully" }];
    },
  };

  return {
    async control(req, res) {
      if (req.method === "GET") return json(res, 200, users);
      if (req.method !== "PUT") return json(res, 405, { error: "GET or PUT" });
      const body = await readJson(req, MAX_CONTROL_BYTES);
      if (!body.ok) return json(res, body.status, { error: body.detail });
      const parsed = parseUsers(body.value);
      if (typeof parsed === "string") return json(res, 400, { error: parsed });
      users = parsed;
      json(res, 200, users);
    },

    async handle(req, res, path) {
      const view = authenticated[path];
      if (view) {
        // DRF authenticates before it looks at the method (APIView.initial, then the handler).
        const auth = await authenticate(req);
        if ("status" in auth) json(res, auth.status, auth.body, AUTH_REALM);
        else if (req.method !== "GET" && req.method !== "HEAD") json(res, 405, { detail: `Method "${req.method}" not allowed.` });
        else json(res, 200, view(auth.user));
        return true;
      }
      const post = posts[path];
      if (!post) return false;
      if (req.method !== "POST") {
        json(res, 405, { detail: `Method "${req.method}" not allowed.` });
        return true;
      }
      const body = await readJson(req, MAX_BODY_BYTES);
      if (!body.ok) json(res, body.status, { detail: body.detail });
      else if (typeof body.value !== "object" || body.value === null || Array.isArray(body.value)) {
        const got = Array.isArray(body.value) ? "list" : body.value === null ? "NoneType" : typeof body.value;
        json(res, 400, { non_field_errors: [`Invalid data. Expected a dictionary, but got ${got}.`] });
      } else {
        const [status, answer] = await post(body.value as Record<string, unknown>);
        json(res, status, answer, status === 401 ? AUTH_REALM : {});
      }
      return true;
    },
  };
}

/** DRF CharField (trim_whitespace, no blanks) for each of `names`: their values, or DRF's field errors. */
function charFields(body: Record<string, unknown>, names: string[]): { values: Record<string, string> } | { errors: Record<string, string[]> } {
  const values: Record<string, string> = {};
  const errors: Record<string, string[]> = {};
  for (const name of names) {
    const raw = body[name];
    if (raw === undefined) errors[name] = [REQUIRED];
    else if (raw === null) errors[name] = ["This field may not be null."];
    else if (typeof raw !== "string" && typeof raw !== "number") errors[name] = ["Not a valid string."];
    else if (String(raw).trim() === "") errors[name] = [BLANK];
    else values[name] = String(raw).trim();
  }
  return Object.keys(errors).length > 0 ? { errors } : { values };
}

/** Django's `User.objects.get(id=...)`: an integer primary key, given as a number or a string of digits. */
function sameId(id: number, claim: unknown): boolean {
  if (typeof claim === "number") return claim === id;
  return typeof claim === "string" && /^\s*\d+\s*$/.test(claim) && Number(claim) === id;
}

/** django.contrib.auth.hashers.check_password for pbkdf2_sha256, compared in constant time. */
async function checkPassword(password: string, encoded: string | null): Promise<boolean> {
  const parts = (encoded ?? "").split("$");
  const [algorithm, iterations, salt] = parts;
  if (parts.length !== 4 || algorithm !== "pbkdf2_sha256" || !/^[1-9]\d{0,8}$/.test(iterations ?? "")) {
    // Unknown user or unusable password: hash anyway, as ModelBackend does, so that timing tells nothing.
    await makePassword(password, REGISTER_ITERATIONS);
    return false;
  }
  const expected = Buffer.from(encoded!, "utf8");
  const actual = Buffer.from(await hashWith(password, salt!, Number(iterations)), "utf8");
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

async function hashWith(password: string, salt: string, iterations: number): Promise<string> {
  const hash = await pbkdf2(password, salt, iterations, 32, "sha256");
  return `pbkdf2_sha256$${iterations}$${salt}$${hash.toString("base64")}`;
}

/** Django's make_password with PBKDF2PasswordHasher: a 22-character alphanumeric salt. */
function makePassword(password: string, iterations: number): Promise<string> {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const salt = [...randomBytes(22)].map((b) => alphabet[b % alphabet.length]).join("");
  return hashWith(password, salt, iterations);
}

/** A corpus file as the legacy SavedFile serializer shows it (the values exportCsv exports, as DRF renders them). */
function savedFileShape(f: CorpusFile) {
  return {
    id: f.id,
    file_id: f.fileId,
    file_name: f.fileName,
    file_path: f.filePath,
    uploaded_at: "2024-02-03T04:05:06.789000Z",
    system_tags: f.id % 4 === 0 ? ["generated"] : [],
    user_tags: ["imported", `tag ${f.id}`],
    metadata: { size: f.size, source: "upload", note: 'a, "quoted" value' },
  };
}

/** The users of a `PUT /__accounts` body, or what is wrong with it. */
function parseUsers(value: unknown): AccountUser[] | string {
  if (!Array.isArray(value)) return "expected a JSON array of users";
  const users: AccountUser[] = [];
  for (const [i, u] of value.entries()) {
    const ok = typeof u === "object" && u !== null && Number.isSafeInteger(u.id) && u.id > 0 && typeof u.username === "string" && typeof u.email === "string" && typeof u.passwordHash === "string" && (u.isActive === undefined || typeof u.isActive === "boolean");
    if (!ok) return `user ${i}: expected {id (positive integer), username, email, passwordHash, isActive?}`;
    if (users.some((other) => other.id === u.id || other.username === u.username)) return `user ${i}: duplicate id or username`;
    users.push({ id: u.id, username: u.username, email: u.email, passwordHash: u.passwordHash, isActive: u.isActive ?? true });
  }
  return users;
}

/** The body as JSON (an empty body is `{}`), at most `maxBytes` of it (413 past that). */
function readJson(req: http.IncomingMessage, maxBytes: number): Promise<{ ok: true; value: unknown } | { ok: false; status: number; detail: string }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      // Past the cap the rest is read and dropped, so that the client still gets the answer.
      if (bytes <= maxBytes) chunks.push(chunk);
    });
    req.on("error", reject);
    req.on("end", () => {
      if (bytes > maxBytes) return resolve({ ok: false, status: 413, detail: `Request body larger than ${maxBytes} bytes.` });
      const text = Buffer.concat(chunks).toString("utf8");
      if (text.trim() === "") return resolve({ ok: true, value: {} });
      try {
        resolve({ ok: true, value: JSON.parse(text) });
      } catch (e) {
        resolve({ ok: false, status: 400, detail: `JSON parse error - ${(e as Error).message}` });
      }
    });
  });
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}
