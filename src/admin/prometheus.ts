import type { JobView, SyncStatus } from "../coordinator/model";
import { ITEM_STATES } from "../coordinator/model";
import { LATENCY_BOUNDS_MS } from "../cutover/histogram";
import { BACKENDS, STATUS_CLASSES, type Backend, type BackendCounters, type BackendTotals } from "../cutover/metrics-model";
import { PHASES, type CutoverState } from "../cutover/state";
import { bucketSamples, encodeOpenMetrics, stateSamples, type MetricFamily } from "../lib/openmetrics";

/**
 * GET /admin/metrics?format=prometheus: what the JSON form tells, as OpenMetrics text. The gate's
 * answers are counters per backend and status class (`list_cutter_gate_requests_total`) with a
 * cumulative latency histogram; what the rollback analysis judges is stored in 1-second windows and
 * read over a sliding window, so it is given as gauges over that window (`list_cutter_gate_window_*`),
 * never counters: a scraper must not take their drops for counter resets.
 */

/** Jobs the job families cover: the newest by creation (the active one, if any, among them). */
export const PROMETHEUS_JOB_LIMIT = 10;

export interface MetricsSnapshot {
  windowSeconds: number;
  backends: Record<Backend, BackendTotals>;
  counters: Record<Backend, BackendCounters>;
  stateReads: number;
  sync: SyncStatus;
  cutover: Pick<CutoverState, "phase" | "percent" | "maintenance" | "version">;
  /** Newest first. */
  jobs: readonly JobView[];
}

export function prometheusText(snapshot: MetricsSnapshot): string {
  return encodeOpenMetrics([...gateFamilies(snapshot), ...cutoverFamilies(snapshot), ...jobFamilies(snapshot.jobs)]);
}

const JUDGED = "2xx, 3xx and 5xx answers of the legacy origin (legacy) or the new app (workers); 4xx, the new app's pages and maintenance answers are left out, and one client address counts for at most 10 requests a second per isolate";

function gateFamilies({ windowSeconds, backends, counters, stateReads }: MetricsSnapshot): MetricFamily[] {
  const perBackend = (value: (totals: BackendTotals) => number) => BACKENDS.map((backend) => ({ labels: { backend }, value: value(backends[backend]) }));
  const over = `over the last ${windowSeconds} s (a sliding window, not a counter)`;
  return [
    {
      name: "list_cutter_gate_requests",
      type: "counter",
      help: "Answers the gate passed on from the legacy origin (legacy) or the new app (workers), per status class, pages and 4xx included; maintenance answers are not counted",
      samples: BACKENDS.flatMap((backend) => STATUS_CLASSES.map((status_class) => ({ suffix: "_total", labels: { backend, status_class }, value: counters[backend].answered[status_class] }))),
    },
    {
      name: "list_cutter_gate_latency_seconds",
      type: "histogram",
      unit: "seconds",
      help: "Latency of the requests the rollback analysis judges that carry no body (the new app's API, every legacy answer; not 4xx), cumulative",
      samples: BACKENDS.flatMap((backend) => {
        const { histogram, latencySumMs } = counters[backend];
        const buckets = bucketSamples(LATENCY_BOUNDS_MS.map((ms) => ms / 1000), histogram, { backend });
        return [...buckets, { suffix: "_count", labels: { backend }, value: buckets.at(-1)!.value }, { suffix: "_sum", labels: { backend }, value: latencySumMs / 1000 }];
      }),
    },
    {
      name: "list_cutter_gate_window_seconds",
      type: "gauge",
      unit: "seconds",
      help: "The window the list_cutter_gate_window_* gauges cover: the window query parameter, by default the cutover thresholds' windowSeconds",
      samples: [{ value: windowSeconds }],
    },
    { name: "list_cutter_gate_window_requests", type: "gauge", help: `Requests the rollback analysis judged ${over}: ${JUDGED}`, samples: perBackend((t) => t.requests) },
    { name: "list_cutter_gate_window_errors", type: "gauge", help: `5xx answers among list_cutter_gate_window_requests, ${over}`, samples: perBackend((t) => t.errors) },
    {
      name: "list_cutter_gate_window_latency_seconds",
      type: "gaugehistogram",
      unit: "seconds",
      help: `Latency of the recorded requests without a body, ${over}; the +Inf bucket is their count, and there is no _gsum: the sum of latencies is not stored`,
      samples: BACKENDS.flatMap((backend) => bucketSamples(LATENCY_BOUNDS_MS.map((ms) => ms / 1000), backends[backend].histogram, { backend })),
    },
    {
      name: "list_cutter_coordinator_state_reads",
      type: "counter",
      help: "Cutover state reads the coordinator answered (what the gates' caches cost it), since its instance started",
      samples: [{ suffix: "_total", value: stateReads }],
    },
  ];
}

function cutoverFamilies({ cutover, sync }: MetricsSnapshot): MetricFamily[] {
  return [
    { name: "list_cutter_cutover_phase", type: "stateset", help: "The cutover phase in force", samples: stateSamples("list_cutter_cutover_phase", PHASES, cutover.phase) },
    { name: "list_cutter_cutover_percent", type: "gauge", help: "Share of users the split sends to the new app, in percent (0-100)", samples: [{ value: cutover.percent }] },
    { name: "list_cutter_cutover_maintenance", type: "gauge", help: "1 while every user gets the maintenance page, else 0", samples: [{ value: cutover.maintenance.enabled ? 1 : 0 }] },
    { name: "list_cutter_cutover_state_version", type: "gauge", help: "Version of the cutover state: it grows with every change", samples: [{ value: cutover.version }] },
    {
      name: "list_cutter_sync_lag_seconds",
      type: "gauge",
      unit: "seconds",
      help: "How old the legacy data of the newest finished full or delta job is (now minus its export's upload); no sample until one has finished",
      samples: sync.lagSeconds === null ? [] : [{ value: sync.lagSeconds }],
    },
  ];
}

function jobFamilies(jobs: readonly JobView[]): MetricFamily[] {
  const newest = jobs.slice(0, PROMETHEUS_JOB_LIMIT);
  const scope = `the newest ${PROMETHEUS_JOB_LIMIT} jobs`;
  const labelsOf = (job: JobView) => ({ job_id: job.id, kind: job.kind });
  return [
    {
      name: "list_cutter_job",
      type: "info",
      help: `State of each of ${scope}`,
      samples: newest.map((job) => ({ suffix: "_info", labels: { ...labelsOf(job), state: job.state, paused: String(job.paused) }, value: 1 })),
    },
    {
      name: "list_cutter_job_items",
      type: "gauge",
      help: `Items (files) of each of ${scope}, per item state`,
      samples: newest.flatMap((job) => ITEM_STATES.map((item_state) => ({ labels: { ...labelsOf(job), item_state }, value: job.items[item_state] }))),
    },
    { name: "list_cutter_job_done_bytes", type: "gauge", unit: "bytes", help: `Bytes copied or verified by each of ${scope}`, samples: newest.map((job) => ({ labels: labelsOf(job), value: job.bytes.done })) },
    { name: "list_cutter_job_known_bytes", type: "gauge", unit: "bytes", help: `Bytes of the items of each of ${scope} whose size is known`, samples: newest.map((job) => ({ labels: labelsOf(job), value: job.bytes.total })) },
  ];
}
