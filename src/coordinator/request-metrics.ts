import { emptyHistogram, HISTOGRAM_SIZE, mergeInto, quantileMs } from "../cutover/histogram";
import type { Backend, BackendSample, BackendSummary, BackendTotals } from "../cutover/metrics-model";

/** Metrics are kept in windows of this size, for this long. */
const WINDOW_MS = 1_000;
const RETENTION_MS = 60 * 60 * 1000;

/** The coordinator's store of request metrics flushed by the gates, in 1-second windows (table in schema.ts). */
export class RequestMetrics {
  constructor(private readonly sql: SqlStorage) {}

  record(samples: readonly BackendSample[], now: number): void {
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
    }
    this.sql.exec(`DELETE FROM request_metrics WHERE window_start < ?`, now - RETENTION_MS);
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
