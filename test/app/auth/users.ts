import { env } from "cloudflare:workers";
import { pbkdf2Sync } from "node:crypto";

/** A Django `pbkdf2_sha256` hash, computed independently of the code under test. */
export function djangoHash(password: string, iterations: number, salt = "testsalt0123456789abcd"): string {
  return `pbkdf2_sha256$${iterations}$${salt}$${pbkdf2Sync(password, salt, iterations, 32, "sha256").toString("base64")}`;
}

/** Inserts an active user straight into D1 (as the migration engine would), with the given stored hash. */
export async function insertUser(username: string, passwordHash: string): Promise<number> {
  const row = await env.DB.prepare(`INSERT INTO users (username, email, password_hash, date_joined) VALUES (?, '', ?, '2024-01-01T00:00:00Z') RETURNING id`)
    .bind(username, passwordHash)
    .first<{ id: number }>();
  return row!.id;
}

export async function storedHash(username: string): Promise<string> {
  return (await env.DB.prepare(`SELECT password_hash FROM users WHERE username = ?`).bind(username).first<{ password_hash: string }>())!.password_hash;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}
