// A finished full job with failures of three reasons: unsafe paths, files missing on the origin, bad rows.
import { exportCsv, toCsv } from "../legacy-origin/corpus";
import { corpus, fastRetries, putExport, startJob, waitForJob } from "../helpers";

const FILE_COLUMNS = ["id", "user_id", "file_id", "file_name", "file_path", "uploaded_at", "system_tags", "user_tags", "metadata"];
export const [UNSAFE, MISSING, BAD_ROWS] = [4, 3, 2];

/** Runs the job on export set `set` (each caller its own) and returns its id once it has ended. */
export async function jobWithFailures(set: string): Promise<string> {
  const legacy = await corpus();
  const user = legacy.users[0]!.id;
  const fileId = (n: number) => `00000000-0000-4000-8000-0000000fa${String(n).padStart(3, "0")}`;
  const rows: (string | number)[][] = [];
  for (let i = 0; i < UNSAFE; i++) rows.push([rows.length + 1, user, fileId(rows.length), `u${i}.csv`, `../../etc/passwd-${i}`, "2024-01-01 00:00:00+00", "{}", "{}", "{}"]);
  for (let i = 0; i < MISSING; i++) rows.push([rows.length + 1, user, fileId(rows.length), `m${i}.csv`, `/app/media/uploads/missing-${i}.csv`, "2024-01-01 00:00:00+00", "{}", "{}", "{}"]);
  for (let i = 0; i < BAD_ROWS; i++) rows.push([rows.length + 1, "not-a-user-id", fileId(rows.length), `b${i}.csv`, `/app/media/uploads/b${i}.csv`, "2024-01-01 00:00:00+00", "{}", "{}", "{}"]);
  await putExport(set, "users", exportCsv(legacy, "users"));
  await putExport(set, "files", toCsv(FILE_COLUMNS, rows));
  const id = await startJob({ kind: "full", exportSet: set, settings: fastRetries });
  await waitForJob(id);
  return id;
}
