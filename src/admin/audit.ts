import type { Env } from "../env";

export interface AuditEntry {
  actor: string;
  action: string;
  target?: string | null;
  details?: unknown;
}

/** Records an operator change in D1 `audit_logs`. */
export async function audit(env: Env, entry: AuditEntry): Promise<void> {
  await env.DB.prepare(`INSERT INTO audit_logs (actor, action, target, details) VALUES (?, ?, ?, ?)`)
    .bind(entry.actor, entry.action, entry.target ?? null, JSON.stringify(entry.details ?? {}))
    .run();
}

/** Who made an operator call: the admin token has no identity, so the client address stands in. */
export function operator(request: Request): string {
  return `admin@${request.headers.get("cf-connecting-ip") ?? "local"}`;
}
