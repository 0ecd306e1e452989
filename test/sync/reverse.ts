import { env } from "cloudflare:workers";
import Papa from "papaparse";
import { expect } from "vitest";
import type { JobView } from "../../src/coordinator/model";
import { BUNDLE_COLUMNS, BUNDLE_TABLES, type BundleManifest, type BundleTable } from "../../src/sync/reverse-bundle-format";
import { admin, adminJson, postJson, startJob, waitForJob } from "../helpers";

/** Shortcuts for the reverse-sync tests. */

export interface OutboxRow {
  seq: number;
  tbl: string;
  row_id: string;
  op: string;
  user_id: number;
  snapshot: string | null;
}

export async function lastSeq(): Promise<number> {
  return (await env.DB.prepare(`SELECT coalesce(max(seq), 0) AS seq FROM outbox`).first<{ seq: number }>())!.seq;
}

/** Outbox rows after `seq`, in order. */
export async function outboxAfter(seq: number): Promise<OutboxRow[]> {
  return (await env.DB.prepare(`SELECT seq, tbl, row_id, op, user_id, snapshot FROM outbox WHERE seq > ? ORDER BY seq`).bind(seq).all<OutboxRow>()).results;
}

export async function runReverse(body: Record<string, unknown> = {}): Promise<JobView> {
  return waitForJob(await startJob({ kind: "reverse", settings: { retryBaseMs: 50, retryMaxMs: 200, leaseSeconds: 30 }, ...body }));
}

export type BundleRows = Record<BundleTable, Record<string, string>[]>;

/** A completed reverse job's bundle through the operator API: the manifest, and every part parsed (papaparse). */
export async function fetchBundle(jobId: string): Promise<{ manifest: BundleManifest; rows: BundleRows; raw: Record<string, string> }> {
  const res = await admin(`/admin/jobs/${jobId}/bundle`);
  expect(res.status).toBe(200);
  const manifest = await res.json<BundleManifest>();
  const rows = Object.fromEntries(BUNDLE_TABLES.map((t) => [t, [] as Record<string, string>[]])) as BundleRows;
  const raw: Record<string, string> = {};
  for (const table of BUNDLE_TABLES) {
    for (const part of manifest.parts[table]) {
      const partRes = await admin(`/admin/jobs/${jobId}/bundle/${part}`);
      expect(partRes.status, part).toBe(200);
      expect(partRes.headers.get("content-type")).toMatch(/^text\/csv/);
      const text = await partRes.text();
      raw[part] = text;
      const parsed = Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: true });
      expect(parsed.errors, part).toEqual([]);
      expect(parsed.meta.fields, part).toEqual([...BUNDLE_COLUMNS[table]]);
      rows[table].push(...parsed.data);
    }
  }
  return { manifest, rows, raw };
}

export function applied(jobId: string, toSeq: unknown): Promise<{ status: number; body: any }> {
  return postJson(`/admin/jobs/${jobId}/applied`, { toSeq });
}

export async function jobView(jobId: string): Promise<JobView> {
  return (await adminJson<JobView>(`/admin/jobs/${jobId}`)).body;
}
