import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { exportObjectKey } from "../../src/legacy/export-contract";
import { admin, adminJson, putExport } from "../helpers";

const USERS_HEADER = "id,username,email,password,first_name,last_name,date_joined,last_login,is_active,is_staff,is_superuser";
const USER_ROW = "1,ann,ann@example.com,pbkdf2_sha256$1000$s$h,Ann,A,2023-01-01 00:00:00+00,,t,f,f";

describe("export uploads", () => {
  it("streams a CSV into R2 and lists it", async () => {
    const csv = `${USERS_HEADER},extra_column\n${USER_ROW},ignored\n`;
    const res = await putExport("s1", "users", csv);
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ set: "s1", table: "users", bytes: csv.length, columns: [...USERS_HEADER.split(","), "extra_column"] });
    expect(await (await env.FILES.get(exportObjectKey("s1", "users")))!.text()).toBe(csv);

    const listing = await adminJson("/admin/exports/s1");
    expect(listing.status).toBe(200);
    expect(listing.body).toEqual({ set: "s1", tables: [{ table: "users", bytes: csv.length, uploadedAt: expect.any(String) }] });
    const audit = await env.DB.prepare(`SELECT action, target FROM audit_logs WHERE action = 'export.upload'`).all();
    expect(audit.results).toContainEqual({ action: "export.upload", target: "s1/users" });
  });

  it("refuses a header missing a required column, naming it, and keeps the earlier upload", async () => {
    const before = await (await env.FILES.get(exportObjectKey("s1", "users")))!.text();
    const res = await putExport("s1", "users", `${USERS_HEADER.replace(",email", "")}\n${USER_ROW}\n`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "users.csv is missing required column(s): email", field: "email" });
    expect(await (await env.FILES.get(exportObjectKey("s1", "users")))!.text()).toBe(before);

    const files = await putExport("s1", "files", "id,user_id,file_id\n1,1,x\n");
    expect(await files.json()).toEqual({ error: "files.csv is missing required column(s): file_name, file_path, uploaded_at, system_tags, user_tags, metadata", field: "file_name" });
  });

  it.each([
    ["/admin/exports/bad%20set/users", "set"],
    ["/admin/exports/.hidden/users", "set"],
    ["/admin/exports/s1/groups", "table"],
  ])("rejects PUT %s with a 400 naming %s", async (path, field) => {
    const res = await admin(path, { method: "PUT", body: `${USERS_HEADER}\n` });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ field });
  });

  it("rejects an empty body and a body with no header row", async () => {
    expect(await (await putExport("s2", "users", "")).json()).toEqual({ error: "body is empty", field: "body" });
    const blank = await putExport("s2", "users", "\n\n");
    expect(blank.status).toBe(400);
    expect(await blank.json()).toMatchObject({ field: "body" });
    expect(await env.FILES.head(exportObjectKey("s2", "users"))).toBeNull();
  });

  it("answers 404 for a set that has no uploads", async () => {
    const res = await adminJson("/admin/exports/nothing-here");
    expect(res).toEqual({ status: 404, body: { error: "no export set 'nothing-here'", field: "set" } });
  });
});
