import type { Env } from "./env";
import { SQL_NOW } from "./lib/d1";

export interface AuditEntry {
  actor: string;
  action: string;
  target?: string | null;
  details?: unknown;
}

/** Records an operator change in D1 `audit_logs`. */
export async function audit(env: Env, entry: AuditEntry): Promise<void> {
  await auditInsert(env.DB, entry).run();
}

/** The D1 insert of one entry; `createdAt` (ISO 8601) if it was recorded before, else now. */
export function auditInsert(db: D1Database, entry: AuditEntry, createdAt: string | null = null): D1PreparedStatement {
  return db
    .prepare(`INSERT INTO audit_logs (actor, action, target, details, created_at) VALUES (?, ?, ?, ?, coalesce(?, ${SQL_NOW}))`)
    .bind(entry.actor, entry.action, entry.target ?? null, JSON.stringify(entry.details ?? {}), createdAt);
}

export interface AuditRecord {
  id: number;
  actor: string;
  action: string;
  target: string | null;
  details: unknown;
  createdAt: string;
}

/** The latest entries whose action starts with `prefix`, newest first. */
export async function recentAudit(env: Env, prefix: string, limit: number): Promise<AuditRecord[]> {
  const rows = await env.DB.prepare(`SELECT id, actor, action, target, details, created_at FROM audit_logs WHERE action LIKE ? ORDER BY id DESC LIMIT ?`)
    .bind(`${prefix}%`, limit)
    .all<{ id: number; actor: string; action: string; target: string | null; details: string; created_at: string }>();
  return rows.results.map((r) => ({ id: r.id, actor: r.actor, action: r.action, target: r.target, details: JSON.parse(r.details), createdAt: r.created_at }));
}
