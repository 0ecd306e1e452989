import { emptyHistogram, HISTOGRAM_SIZE, mergeInto, quantileMs } from "../cutover/histogram";
import { STATUS_CLASSES, type Backend, type BackendCounters, type BackendSample, type BackendSummary, type BackendTotals, type SeriesPoint, type StatusClass } from "../cutover/metrics-model";

/** Metrics are kept in windows of this size, for this long. */
const WINDOW_MS = 1_000;
const RETENTION_MS = 60 * 60 * 1000;

/**
 * The coordinator's store of request metrics flushed by the gates (tables in schema.ts): the judged
 * numbers in 1-second windows, kept for an hour, and counters per status class that only grow.
 */
export class RequestMetrics {
  constructor(private readonly sql: SqlStorage) {}

  /** Adds a batch; with `batchId`, only the first time that id is seen (ids are kept for RETENTION_MS). Returns whether it was added. */
  record(samples: readonly BackendSample[], now: number, batchId?: string): boolean {
    if (batchId !== undefined) {
      this.sql.exec(`DELETE FROM metric_batches WHERE received_at < ?`, now - RETENTION_MS);
      if (this.sql.exec(`INSERT OR IGNORE INTO metric_batches (id, received_at) VALUES (?, ?)`, batchId, now).rowsWritten === 0) return false;
    }
    const windowStart = Math.floor(now / WINDOW_MS) * WINDOW_MS;
    for (const sample of samples) {
      const existing = this.sql
        .exec<{ histogram: string }>(
          `SELECT histogram FROM request_metrics WHERE window_start = ? AND backend = ? AND version = ?`,
          windowStart,
          sample.backend,
          sample.version,
        )
        .toArray()[0];
      const histogram = existing ? (JSON.parse(existing.histogram) as number[]) : emptyHistogram();
      mergeInto(histogram, sample.histogram.slice(0, HISTOGRAM_SIZE));
      this.sql.exec(
        `INSERT INTO request_metrics (window_start, backend, version, requests, errors, histogram, flushes) VALUES (?, ?, ?, ?, ?, ?, 1)
         ON CONFLICT (window_start, backend, version) DO UPDATE SET requests = requests + excluded.requests,
           errors = errors + excluded.errors, histogram = excluded.histogram, flushes = flushes + 1`,
        windowStart,
        sample.backend,
        sample.version,
        sample.requests,
        sample.errors,
        JSON.stringify(histogram),
      );
      this.#count(sample);
    }
    this.sql.exec(`DELETE FROM request_metrics WHERE window_start < ?`, now - RETENTION_MS);
    return true;
  }

  #count(sample: BackendSample): void {
    STATUS_CLASSES.forEach((statusClass, i) => {
      const answers = sample.answered?.[i] ?? 0;
      if (answers <= 0) return;
      this.sql.exec(
        `INSERT INTO request_totals (backend, status_class, answers) VALUES (?, ?, ?)
         ON CONFLICT (backend, status_class) DO UPDATE SET answers = answers + excluded.answers`,
        sample.backend,
        statusClass,
        answers,
      );
    });
    if (!sample.histogram.some((n) => n > 0)) return;
    const row = this.sql.exec<{ histogram: string }>(`SELECT histogram FROM latency_totals WHERE backend = ?`, sample.backend).toArray()[0];
    const histogram = row ? (JSON.parse(row.histogram) as number[]) : emptyHistogram();
    mergeInto(histogram, sample.histogram.slice(0, HISTOGRAM_SIZE));
    this.sql.exec(
      `INSERT INTO latency_totals (backend, histogram, sum_ms) VALUES (?, ?, ?)
       ON CONFLICT (backend) DO UPDATE SET histogram = excluded.histogram, sum_ms = sum_ms + excluded.sum_ms`,
      sample.backend,
      JSON.stringify(histogram),
      sample.latencySumMs ?? 0,
    );
  }

  /** What the gates counted for `backend` since the counters began (schema migration 8). */
  counters(backend: Backend): BackendCounters {
    const answered = Object.fromEntries(STATUS_CLASSES.map((c) => [c, 0])) as Record<StatusClass, number>;
    for (const row of this.sql.exec<{ status_class: StatusClass; answers: number }>(`SELECT status_class, answers FROM request_totals WHERE backend = ?`, backend)) {
      if (row.status_class in answered) answered[row.status_class] = row.answers;
    }
    const latency = this.sql.exec<{ histogram: string; sum_ms: number }>(`SELECT histogram, sum_ms FROM latency_totals WHERE backend = ?`, backend).toArray()[0];
    return { answered, histogram: latency ? (JSON.parse(latency.histogram) as number[]) : emptyHistogram(), latencySumMs: latency?.sum_ms ?? 0 };
  }

  /**
   * `backend`'s judged numbers as the `points` steps of `stepMs` (a multiple of the 1 s window) that
   * end with the one holding `now`, oldest first, every step present (a quiet one with zero requests).
   */
  series(backend: Backend, now: number, stepMs: number, points: number): SeriesPoint[] {
    const first = (Math.floor(now / stepMs) - points + 1) * stepMs;
    const steps = Array.from({ length: points }, (_, i) => ({ t: first + i * stepMs, requests: 0, errors: 0, histogram: emptyHistogram() }));
    const rows = this.sql.exec<{ window_start: number; requests: number; errors: number; histogram: string }>(
      `SELECT window_start, requests, errors, histogram FROM request_metrics WHERE backend = ? AND window_start >= ? AND window_start <= ?`,
      backend,
      first,
      now,
    );
    for (const row of rows) {
      const step = steps[Math.floor((row.window_start - first) / stepMs)];
      if (!step) continue;
      step.requests += row.requests;
      step.errors += row.errors;
      mergeInto(step.histogram, JSON.parse(row.histogram) as number[]);
    }
    return steps.map(({ t, requests, errors, histogram }) => ({ t, requests, errors, p50Ms: quantileMs(histogram, 0.5), p95Ms: quantileMs(histogram, 0.95) }));
  }

  /** Totals for `backend` over the windows from `since`, for requests served under `version` if given. */
  summary(backend: Backend, since: number, version?: number): BackendSummary {
    return summarize(this.totals(backend, since, version));
  }

  /** The sums behind summary(), with the latency histogram itself. */
  totals(backend: Backend, since: number, version?: number): BackendTotals {
    const rows = this.sql
      .exec<{ requests: number; errors: number; histogram: string; flushes: number }>(
        `SELECT requests, errors, histogram, flushes FROM request_metrics
         WHERE backend = ?1 AND window_start >= ?2 AND (?3 IS NULL OR version = ?3)`,
        backend,
        Math.floor(since / WINDOW_MS) * WINDOW_MS,
        version ?? null,
      )
      .toArray();
    const totals: BackendTotals = { requests: 0, errors: 0, flushes: 0, histogram: emptyHistogram() };
    for (const row of rows) {
      totals.requests += row.requests;
      totals.errors += row.errors;
      totals.flushes += row.flushes;
      mergeInto(totals.histogram, JSON.parse(row.histogram) as number[]);
    }
    return totals;
  }
}

export function summarize({ requests, errors, flushes, histogram }: BackendTotals): BackendSummary {
  return { requests, errors, errorRate: requests ? errors / requests : 0, p50Ms: quantileMs(histogram, 0.5), p95Ms: quantileMs(histogram, 0.95), flushes };
}
