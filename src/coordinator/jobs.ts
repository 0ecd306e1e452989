import { logEvent } from "../lib/log-event";
import type { ExportTable } from "../legacy/export-contract";
import type { BundleTable } from "../sync/reverse-bundle-format";
import type { JobIdentity, JobKind, JobSettings, JobState } from "./model";
import { ACTIVE_STATES } from "./model";

/** Where planning stands, so that any wake-up (even after eviction) resumes it exactly. */
export type PlanCursor =
  | { step: "import"; table: ExportTable; offset: number; line: number; header: string[] | null }
  | { step: "scan"; afterFileId: string }
  | { step: "reconcile"; afterFileId: string }
  // reverse jobs (reverse-planner.ts): read the outbox, write each bundle table's parts, then the manifest
  | { step: "collect"; afterSeq: number }
  | { step: "bundle"; table: BundleTable; afterSeq: number }
  | { step: "manifest" }
  | { step: "done" };

/** A reverse job's bundle: the outbox range it covers, and the parts and rows written per table. */
export interface ReverseCounters {
  fromSeq: number;
  toSeq: number;
  counts: Record<BundleTable, number>;
  parts: Record<BundleTable, number>;
}

export interface JobCounters {
  usersMigrated: number;
  filtersMigrated: number;
  /** Rows inserted or fields taken from legacy (jobs from before this counter lack it). */
  legacyChanges?: number;
  /** Export rows skipped because the new app deleted them (tombstones). */
  filesDeletedOnNew?: number;
  filtersDeletedOnNew?: number;
  /** The oldest upload time (ms) of the export set's tables, for the sync lag. */
  exportedAt?: number;
  /** Alarm steps taken for this job, and the longest one (ms, wall time including I/O). */
  steps?: number;
  maxStepMs?: number;
  /** The steps counted per STEP_BOUNDS_MS bucket (the last: slower than all of them). */
  stepHistogram?: number[];
  /** The same per job state the step started in. */
  stepsByState?: Record<string, { histogram: number[]; maxMs: number }>;
  /** Who created the job (an operator, or `run:<id>` for a cutover run's). */
  createdBy?: string;
  /** When planning finished. */
  plannedAt?: number;
  /** Reverse jobs only. */
  reverse?: ReverseCounters;
}

export interface JobRecord extends JobIdentity {
  plan: PlanCursor;
  counters: JobCounters;
  createdAt: number;
  updatedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

interface JobRow {
  id: string;
  kind: JobKind;
  state: JobState;
  paused: number;
  export_set: string | null;
  settings: string;
  plan: string;
  counters: string;
  error: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
  [key: string]: SqlStorageValue;
}

export class JobStore {
  constructor(private readonly sql: SqlStorage) {}

  create(job: Pick<JobRecord, "id" | "kind" | "exportSet" | "settings" | "plan">, now: number, counters: Partial<JobCounters> = {}): JobRecord {
    this.sql.exec(
      `INSERT INTO jobs (id, kind, state, export_set, settings, plan, counters, created_at, updated_at, started_at)
       VALUES (?, ?, 'planning', ?, ?, ?, ?, ?, ?, ?)`,
      job.id,
      job.kind,
      job.exportSet,
      JSON.stringify(job.settings),
      JSON.stringify(job.plan),
      JSON.stringify({ usersMigrated: 0, filtersMigrated: 0, legacyChanges: 0, filesDeletedOnNew: 0, filtersDeletedOnNew: 0, ...counters } satisfies JobCounters),
      now,
      now,
      now,
    );
    return this.get(job.id)!;
  }

  get(id: string): JobRecord | null {
    const row = this.sql.exec<JobRow>(`SELECT * FROM jobs WHERE id = ?`, id).toArray()[0];
    return row ? fromRow(row) : null;
  }

  /** The job that is planning, copying or verifying, if any (there is at most one). */
  active(): JobRecord | null {
    const row = this.sql
      .exec<JobRow>(`SELECT * FROM jobs WHERE state IN (${ACTIVE_STATES.map(() => "?").join(", ")}) ORDER BY created_at LIMIT 1`, ...ACTIVE_STATES)
      .toArray()[0];
    return row ? fromRow(row) : null;
  }

  /** The newest full or delta job that completed, with or without failures. */
  lastSync(): JobRecord | null {
    const row = this.sql
      .exec<JobRow>(
        `SELECT * FROM jobs WHERE kind IN ('full', 'delta') AND state IN ('completed', 'completed_with_failures') AND finished_at IS NOT NULL
         ORDER BY finished_at DESC LIMIT 1`,
      )
      .toArray()[0];
    return row ? fromRow(row) : null;
  }

  list(limit: number): JobRecord[] {
    return this.sql.exec<JobRow>(`SELECT * FROM jobs ORDER BY created_at DESC LIMIT ?`, limit).toArray().map(fromRow);
  }

  update(id: string, patch: Partial<Pick<JobRecord, "state" | "paused" | "plan" | "counters" | "error" | "finishedAt">>, now: number): void {
    const sets: string[] = ["updated_at = ?"];
    const values: SqlStorageValue[] = [now];
    if (patch.state !== undefined) sets.push("state = ?"), values.push(patch.state);
    if (patch.paused !== undefined) sets.push("paused = ?"), values.push(patch.paused ? 1 : 0);
    if (patch.plan !== undefined) sets.push("plan = ?"), values.push(JSON.stringify(patch.plan));
    if (patch.counters !== undefined) sets.push("counters = ?"), values.push(JSON.stringify(patch.counters));
    if (patch.error !== undefined) sets.push("error = ?"), values.push(patch.error);
    if (patch.finishedAt !== undefined) sets.push("finished_at = ?"), values.push(patch.finishedAt);
    this.sql.exec(`UPDATE jobs SET ${sets.join(", ")} WHERE id = ?`, ...values, id);
    if (patch.state !== undefined) logEvent("job.state", { job: id, state: patch.state, error: patch.error ?? null });
  }
}

function fromRow(row: JobRow): JobRecord {
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    paused: row.paused === 1,
    exportSet: row.export_set,
    settings: JSON.parse(row.settings) as JobSettings,
    plan: JSON.parse(row.plan) as PlanCursor,
    counters: JSON.parse(row.counters) as JobCounters,
    error: row.error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
