import type { Env } from "../../env";

/** Failed logins allowed per window, per username and per client address. */
const WINDOW_SECONDS = 15 * 60;
const PER_USERNAME = 5;
const PER_IP = 30;

function keys(username: string, ip: string | null): string[] {
  const out = [`login-fail:user:${username.toLowerCase()}`];
  if (ip) out.push(`login-fail:ip:${ip}`);
  return out;
}

/** Seconds to wait if this username or address has failed too often lately; else null. */
export async function loginBlocked(env: Env, username: string, ip: string | null): Promise<number | null> {
  const [byUser, byIp] = await Promise.all(keys(username, ip).map((k) => env.AUTH_TOKENS.get(k)));
  return Number(byUser ?? 0) >= PER_USERNAME || Number(byIp ?? 0) >= PER_IP ? WINDOW_SECONDS : null;
}

export async function recordLoginFailure(env: Env, username: string, ip: string | null): Promise<void> {
  await Promise.all(
    keys(username, ip).map(async (k) => env.AUTH_TOKENS.put(k, String(Number((await env.AUTH_TOKENS.get(k)) ?? 0) + 1), { expirationTtl: WINDOW_SECONDS })),
  );
}

export async function clearLoginFailures(env: Env, username: string): Promise<void> {
  await env.AUTH_TOKENS.delete(keys(username, null)[0]!);
}
