import type { JobView } from "../coordinator/model";
import type { SampleReport } from "./origin-sample";
import type { TableCounts } from "./scan-state";

/**
 * The throughput assumed before any full or delta job has finished: deliberately modest, about a
 * tenth of what the engine sustains in the local benchmark (README, Benchmarks), since a real legacy
 * origin is farther away and the operator keeps maxInFlight low on it.
 */
export const DEFAULT_FILES_PER_SECOND = 20;
export const DEFAULT_MIB_PER_SECOND = 5;
const MIB = 1024 * 1024;

export interface Estimate {
  seconds: number;
  /** The bytes it assumes: the declared sizes, and for files without one the mean of those known. */
  bytes: number;
  bytesPerSecond: number;
  filesPerSecond: number;
  basis: string;
}

const FINISHED = new Set(["completed", "completed_with_failures"]);

/**
 * How long copying would take: max(files / files per second, bytes / bytes per second), at the
 * throughput the newest finished full or delta job that copied bytes measured, or the default.
 */
export function estimateDuration(jobs: readonly JobView[], counts: TableCounts["files"], sample: SampleReport): Estimate {
  const job = jobs
    .filter((j) => (j.kind === "full" || j.kind === "delta") && FINISHED.has(j.state) && j.finishedAt !== null)
    .filter((j) => j.bytes.done > 0 && j.throughput.filesPerSecond > 0 && j.throughput.bytesPerSecond > 0)
    .sort((a, b) => b.finishedAt!.localeCompare(a.finishedAt!))[0];
  const { filesPerSecond, bytesPerSecond } = job?.throughput ?? { filesPerSecond: DEFAULT_FILES_PER_SECOND, bytesPerSecond: DEFAULT_MIB_PER_SECOND * MIB };
  const basis = job
    ? `job ${job.id} (${job.kind}, finished ${job.finishedAt})`
    : `default: ${DEFAULT_FILES_PER_SECOND} files/s, ${DEFAULT_MIB_PER_SECOND} MiB/s (no finished full or delta job yet)`;
  const bytes = bytesToCopy(counts, sample);
  const seconds = Math.ceil(Math.max(counts.wouldCopy / filesPerSecond, bytes / bytesPerSecond));
  return { seconds, bytes, bytesPerSecond, filesPerSecond, basis };
}

/** Declared bytes, plus the files that declare no size at the mean size of those that do (or, if none do, of the sample's answers). */
function bytesToCopy(counts: TableCounts["files"], sample: SampleReport): number {
  const declaredFiles = counts.wouldCopy - counts.undeclaredSize;
  const sizes = sample.items.map((i) => i.size).filter((s): s is number => s !== null);
  const mean = declaredFiles > 0 ? counts.bytesDeclared / declaredFiles : sizes.length > 0 ? sizes.reduce((a, b) => a + b, 0) / sizes.length : 0;
  return Math.round(counts.bytesDeclared + counts.undeclaredSize * mean);
}
