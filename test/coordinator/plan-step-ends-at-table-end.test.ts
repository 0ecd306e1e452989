// Planning steps end by row count or by time (the job's planStepMs, checked after each D1 batch of
// D1_BATCH records). A step that ends on a table's last byte must move on to the next table: asking R2 for
// the empty range after it is refused.
import { describe, expect, it } from "vitest";
import { D1_BATCH } from "../../src/coordinator/planner";
import { fastRetries, putExport, startJob, waitForJob } from "../helpers";

const HEADER = "id,username,email,password,first_name,last_name,date_joined,last_login,is_active,is_staff,is_superuser";
const user = (id: number) => `${id},u${id},u${id}@example.com,pbkdf2_sha256$1000$s$aA==,U,${id},2023-01-01 00:00:00+00,,t,f,f`;
const FILES = "id,user_id,file_id,file_name,file_path,uploaded_at,system_tags,user_tags,metadata\n";

describe("a planning step that ends where its table ends", () => {
  const cases = [
    { rows: 3 * D1_BATCH, settings: { ...fastRetries, planStepMs: 0 }, why: `${3 * D1_BATCH} rows, a step per batch of ${D1_BATCH}` },
  ];
  for (const { rows: count, settings, why } of cases) for (const trailingNewline of [true, false]) {
    it(`moves on to the next table (users.csv of ${why}, ${trailingNewline ? "with" : "without"} a final line feed)`, async () => {
      const rows = Array.from({ length: count }, (_, i) => user(i + 1));
      const set = `table-end-${count}-${trailingNewline}`;
      await putExport(set, "users", `${HEADER}\n${rows.join("\n")}${trailingNewline ? "\n" : ""}`);
      await putExport(set, "files", FILES);
      const job = await waitForJob(await startJob({ kind: "full", exportSet: set, settings }), undefined, 120_000);
      expect(job).toMatchObject({ state: "completed", error: null, users: { migrated: count } });
      // A step per batch of the users table, at least, counted among the planning steps.
      expect(job.steps.byState.planning!.atMostMs["+Inf"]).toBeGreaterThanOrEqual(3);
      expect(job.steps.atMostMs["+Inf"]).toBe(job.steps.count);
    });
  }
});
