import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { validationReportSchema } from "../../src/validation/report";
import { admin, worker } from "../helpers";

const post = (body: string) => admin("/admin/validate", { method: "POST", body, headers: { "content-type": "application/json" } });

describe("POST /admin/validate", () => {
  it("needs the operator token", async () => {
    expect((await worker("/admin/validate", { method: "POST", body: "{}" })).status).toBe(401);
  });

  it.each([
    ['{"sample": 0}', "sample"],
    ['{"sample": 101}', "sample"],
    ['{"sample": 2.5}', "sample"],
    ['{"sample": "5"}', "sample"],
    ['{"exportSet": "../main"}', "exportSet"],
    ['{"exportSet": ""}', "exportSet"],
    ['{"sample": 5, "dryRun": true}', "dryRun"],
    ["[1]", "body"],
    ["{nope", "body"],
  ])("refuses %s with a 400 naming %s", async (body, field) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ field });
  });

  it("says when the body is JSON but not an object", async () => {
    expect(await (await post("[1]")).json()).toEqual({ error: "body must be a JSON object", field: "body" });
  });

  it("answers 200 with the report even when checks fail (nothing is migrated here), and audits it", async () => {
    const res = await post("");
    expect(res.status).toBe(200);
    const report = validationReportSchema.parse(await res.json());
    expect(report).toMatchObject({ ok: false, sample: 10, exportSet: null });
    expect(report.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(["legacy-tokens", "app-download", "legacy-origin", "export-rows"]);
    expect(report.checks.find((c) => c.name === "export-rows")!.detail).toMatch(/^no export set/);

    const row = await env.DB.prepare(`SELECT actor, target, details FROM audit_logs WHERE action = 'cutover.validate' ORDER BY id DESC LIMIT 1`).first<{ actor: string; target: string | null; details: string }>();
    expect(row).toMatchObject({ actor: "admin@local", target: null });
    const details = JSON.parse(row!.details);
    expect(details).toMatchObject({ ok: false, sample: 10, exportSet: null, startedAt: report.startedAt, durationMs: report.durationMs });
    expect(details.checks).toEqual(report.checks.map(({ group, name, ok, ms, detail }) => ({ group, name, ok, ms, detail })));
  });

  it("takes the sample and the export set it is given", async () => {
    const report = validationReportSchema.parse(await (await post('{"sample": 3, "exportSet": "nowhere"}')).json());
    expect(report).toMatchObject({ sample: 3, exportSet: "nowhere" });
    expect(report.checks.find((c) => c.name === "export-rows")!.failures).toEqual(["export set 'nowhere' has no users.csv", "export set 'nowhere' has no files.csv"]);
    const row = await env.DB.prepare(`SELECT target FROM audit_logs WHERE action = 'cutover.validate' ORDER BY id DESC LIMIT 1`).first();
    expect(row).toEqual({ target: "nowhere" });
  });
});
