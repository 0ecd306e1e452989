// A job that ends with failures pages once (PagerDuty trigger, dedup key job:<id>, and the webhook and
// Slack channels); the operator resolving it sends the resolve with the same key, and it stays quiet
// while the job stays as it is.
import { describe, expect, it, beforeEach } from "vitest";
import { exportCsv, toCsv } from "../legacy-origin/corpus";
import { adminJson, corpus, fastRetries, postJson, putExport, startJob, waitForJob } from "../helpers";
import { addEveryChannel, byPath, receivedUntil, resetAlertWorld, ROUTING_KEY } from "./receiver-client";

const FILE_COLUMNS = ["id", "user_id", "file_id", "file_name", "file_path", "uploaded_at", "system_tags", "user_tags", "metadata"];

beforeEach(resetAlertWorld);

describe("a job that ends with failures", () => {
  it("triggers one page with its id as dedup key, and the operator's resolve closes it", async () => {
    await addEveryChannel();
    const legacy = await corpus();
    const user = legacy.users[0]!.id;
    const rows = [
      [1, user, "00000000-0000-4000-8000-0000000ab001", "m.csv", "/app/media/uploads/missing-alert.csv", "2024-01-01 00:00:00+00", "{}", "{}", "{}"],
      [2, "not-a-user-id", "00000000-0000-4000-8000-0000000ab002", "b.csv", "/app/media/uploads/b.csv", "2024-01-01 00:00:00+00", "{}", "{}", "{}"],
    ];
    await putExport("alerting", "users", exportCsv(legacy, "users"));
    await putExport("alerting", "files", toCsv(FILE_COLUMNS, rows));
    const id = await startJob({ kind: "full", exportSet: "alerting", settings: fastRetries });
    expect((await waitForJob(id)).state).toBe("completed_with_failures");

    const key = `job:${id}`;
    const got = await receivedUntil((r) => byPath(r, "/pagerduty").length >= 1 && byPath(r, "/webhook").length >= 1 && byPath(r, "/slack").length >= 1);
    const [page] = byPath(got, "/pagerduty");
    expect(page!.body).toMatchObject({ routing_key: ROUTING_KEY, event_action: "trigger", dedup_key: key, payload: { severity: "warning", summary: expect.stringContaining("completed with 2 failure(s)"), custom_details: { jobId: id, failed: 2 } } });
    const [hook] = byPath(got, "/webhook");
    expect(hook).toMatchObject({ signatureValid: true, body: { key, kind: "job.failed", action: "trigger" } });
    expect(byPath(got, "/slack")[0]!.body.text).toContain(id);

    const resolved = await postJson("/admin/alerts/resolve", { key });
    expect(resolved).toMatchObject({ status: 200, body: { key } });
    const after = await receivedUntil((r) => byPath(r, "/pagerduty").length >= 2);
    expect(byPath(after, "/pagerduty").map((p) => [p.body.event_action, p.body.dedup_key])).toEqual([
      ["trigger", key],
      ["resolve", key],
    ]);
    // Resolved by the operator, it does not fire again while the job stays completed_with_failures.
    const view = (await adminJson("/admin/alerts")).body;
    expect(view.firing).toEqual([{ key, kind: "job.failed", severity: "warning", summary: expect.any(String), state: "silenced", since: expect.any(String) }]);
    expect(view.events.filter((e: any) => e.key === key).map((e: any) => e.action)).toEqual(["resolve", "trigger"]);
    expect(await postJson("/admin/alerts/resolve", { key })).toMatchObject({ status: 404 });
  });
});
