import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { TEST_MAX_FILE_SIZE } from "../config";
import { afterCacheTtl, api, apiJson, csvForm, newUser, patchCutover, sha256Hex, worker } from "../helpers";

const CSV = "id,name,score\n1,Ann,10\n2,Bob,20\n";

async function uploadAs(token: string, name: string, content: string | Blob = CSV, fields: Record<string, string> = {}, path = "/api/list_cutter/upload/") {
  const res = await api(path, { method: "POST", body: csvForm(name, content, fields), token });
  return { status: res.status, body: (await res.json()) as any };
}

describe("files", () => {
  it("upload, list, download, tag, fetch, cut to a saved file with lineage, delete", async () => {
    const ann = await newUser("files-ann");
    const up = await uploadAs(ann.access, "scores.csv");
    expect(up).toEqual({ status: 200, body: { message: "File uploaded successfully", file_id: expect.stringMatching(/^[0-9a-f-]{36}$/) } });
    const row = await env.DB.prepare(`SELECT * FROM files WHERE id = ?`).bind(up.body.file_id).first<Record<string, any>>();
    expect(row).toMatchObject({ user_id: ann.id, file_name: "scores.csv", size: CSV.length, row_count: 2, column_count: 3, columns_metadata: '["id","name","score"]', system_tags: '["uploaded"]' });
    expect(row!.num).toBeGreaterThan(1_000_000_000);

    const { files } = await (await api("/api/list_cutter/list_saved_files/", { token: ann.access })).json<{ files: any[] }>();
    expect(files).toEqual([{ id: row!.num, file_id: up.body.file_id, file_name: "scores.csv", file_path: row!.r2_key, uploaded_at: row!.uploaded_at, system_tags: ["uploaded"], user_tags: [], metadata: {} }]);

    const download = await api("/api/list_cutter/download/scores.csv/", { token: ann.access });
    expect(await download.text()).toBe(CSV);
    expect(await apiJson(`/api/list_cutter/update_tags/${row!.num}/`, { user_tags: ["q1", "sales"] }, { method: "PATCH", token: ann.access })).toEqual({ status: 200, body: { message: "Tags updated successfully." } });
    await apiJson(`/api/list_cutter/update_tags/${up.body.file_id}/`, { user_tags: ["sales", "final"] }, { method: "PATCH", token: ann.access });
    const fetched = await (await api(`/api/list_cutter/fetch_saved_file/?file_id=${up.body.file_id}`, { token: ann.access })).json<any>();
    expect(fetched).toMatchObject({ file_id: up.body.file_id, columns: ["id", "name", "score"], row_count: 2, data: [{ id: "1", name: "Ann", score: "10" }, { id: "2", name: "Bob", score: "20" }] });
    expect(JSON.parse((await env.DB.prepare(`SELECT user_tags FROM files WHERE id = ?`).bind(up.body.file_id).first<{ user_tags: string }>())!.user_tags)).toEqual(["q1", "sales", "final"]);

    const cut = await api("/api/list_cutter/export_csv/", { method: "POST", body: JSON.stringify({ columns: ["name"], file_path: row!.r2_key, filters: { score: "> 15" } }), token: ann.access });
    const cutText = await cut.text();
    expect(cutText).toBe("name\r\nBob\r\n");
    const saved = await uploadAs(ann.access, "bob.csv", cutText, { filename: "bob.csv", original_file_id: up.body.file_id, metadata: JSON.stringify({ filters: { score: "> 15" } }) }, "/api/list_cutter/save_generated_file/");
    expect(saved).toEqual({ status: 201, body: { message: "File saved successfully.", file_path: expect.stringMatching(/^uploads\/user-\d+\/[0-9a-f-]{36}\.csv$/), file_id: expect.any(String) } });
    const generated = await env.DB.prepare(`SELECT system_tags, metadata FROM files WHERE id = ?`).bind(saved.body.file_id).first<{ system_tags: string; metadata: string }>();
    expect(JSON.parse(generated!.system_tags)).toEqual(["generated"]);
    expect(JSON.parse(generated!.metadata)).toEqual({ filters: { score: "> 15" }, source_file_id: up.body.file_id });

    const gone = await api(`/api/list_cutter/delete/${row!.num}/`, { method: "DELETE", token: ann.access });
    expect(gone.status).toBe(204);
    expect(await env.FILES.head(row!.r2_key)).toBeNull();
    expect(await env.DB.prepare(`SELECT 1 FROM files WHERE id = ?`).bind(up.body.file_id).first()).toBeNull();
  });

  it("lets nobody reach another user's files or filters", async () => {
    const owner = await newUser("files-owner");
    const other = await newUser("files-other");
    const up = await uploadAs(owner.access, "private.csv");
    const row = (await env.DB.prepare(`SELECT num, r2_key FROM files WHERE id = ?`).bind(up.body.file_id).first<{ num: number; r2_key: string }>())!;
    const filter = await apiJson("/api/list_cutter/filters/", { name: "mine", filter_config: { score: "> 1" }, file_id: up.body.file_id }, { token: owner.access });
    expect(filter.status).toBe(201);
    const attempts: [string, RequestInit][] = [
      [`/api/list_cutter/delete/${row.num}/`, { method: "DELETE" }],
      [`/api/list_cutter/delete/${up.body.file_id}/`, { method: "DELETE" }],
      [`/api/list_cutter/update_tags/${row.num}/`, { method: "PATCH", body: JSON.stringify({ user_tags: ["x"] }) }],
      [`/api/list_cutter/fetch_saved_file/?file_id=${up.body.file_id}`, {}],
      ["/api/list_cutter/download/private.csv/", {}],
      ["/api/list_cutter/export_csv/", { method: "POST", body: JSON.stringify({ columns: ["id"], file_path: row.r2_key }) }],
      [`/api/list_cutter/filters/${filter.body.id}/`, {}],
      [`/api/list_cutter/filters/${filter.body.id}/`, { method: "PATCH", body: JSON.stringify({ name: "stolen" }) }],
      [`/api/list_cutter/filters/${filter.body.id}/`, { method: "DELETE" }],
    ];
    for (const [path, init] of attempts) {
      const res = await api(path, { ...init, token: other.access });
      expect(res.status, `${init.method ?? "GET"} ${path}`).toBe(404);
    }
    expect((await apiJson("/api/list_cutter/filters/", { name: "x", filter_config: {}, file_id: up.body.file_id }, { token: other.access })).status).toBe(404);
    expect(await (await api("/api/list_cutter/list_saved_files/", { token: other.access })).json()).toEqual({ files: [] });
    expect(await (await api("/api/list_cutter/filters/", { token: other.access })).json()).toEqual({ filters: [] });
    expect(await env.FILES.head(row.r2_key)).not.toBeNull();
    expect((await (await api(`/api/list_cutter/filters/${filter.body.id}/`, { token: owner.access })).json<any>()).name).toBe("mine");
  });

  it("saved filters: create, read, update, delete", async () => {
    const user = await newUser("filters-user");
    const created = await apiJson("/api/list_cutter/filters/", { name: "big spenders", description: "", filter_config: { amount: "> 100" } }, { token: user.access });
    expect(created).toMatchObject({ status: 201, body: { name: "big spenders", filter_config: { amount: "> 100" }, file_id: null } });
    expect(created.body.id).toBeGreaterThan(1_000_000_000);
    const updated = await apiJson(`/api/list_cutter/filters/${created.body.id}/`, { description: "Q4" }, { method: "PATCH", token: user.access });
    expect(updated.body).toMatchObject({ name: "big spenders", description: "Q4" });
    expect((await api(`/api/list_cutter/filters/${created.body.id}/`, { method: "DELETE", token: user.access })).status).toBe(204);
    expect((await api(`/api/list_cutter/filters/${created.body.id}/`, { token: user.access })).status).toBe(404);
    expect((await apiJson("/api/list_cutter/filters/", { filter_config: {} }, { token: user.access })).body).toEqual({ name: ["This field is required."] });
    expect((await apiJson("/api/list_cutter/filters/", { name: "x", filter_config: {}, owner: 1 }, { token: user.access })).status).toBe(400);
  });

  it("answers bad uploads with a clear 4xx", async () => {
    const user = await newUser("files-bad");
    const big = new Blob(["id,x\n", "1,y\n".repeat(TEST_MAX_FILE_SIZE / 4)]);
    expect(await uploadAs(user.access, "big.csv", big)).toEqual({ status: 413, body: { error: "File size exceeds 2.00MB limit." } });
    expect((await uploadAs(user.access, "tool.exe", CSV)).status).toBe(415);
    expect(await uploadAs(user.access, "image.csv", new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 1, 2])]))).toEqual({ status: 415, body: { error: "The file is binary, not a CSV." } });
    expect((await uploadAs(user.access, "latin1.csv", new Blob([new Uint8Array([0x61, 0x2c, 0xe9, 0x0a])]))).status).toBe(415);
    expect((await uploadAs(user.access, "empty.csv", "")).status).toBe(415);

    const noFile = new FormData();
    noFile.append("other", "x");
    expect(await (await api("/api/list_cutter/upload/", { method: "POST", body: noFile, token: user.access })).json()).toEqual({ error: "No file uploaded" });
    const malformed: [string, string][] = [
      ["--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nid\n1\n", "multipart/form-data; boundary=xyz"],
      ["not multipart at all", "multipart/form-data; boundary=xyz"],
      [CSV, "text/csv"],
    ];
    for (const [body, type] of malformed) {
      const res = await api("/api/list_cutter/upload/", { method: "POST", body, headers: { "content-type": type }, token: user.access });
      expect(res.status, `${type}: ${body.slice(0, 20)}`).toBe(400);
    }
    const first = await uploadAs(user.access, "src.csv");
    expect((await uploadAs(user.access, "cut.csv", CSV, { filename: "cut.csv" }, "/api/list_cutter/save_generated_file/")).body).toEqual({ error: "Original file ID must be included in the request." });
    expect((await uploadAs(user.access, "cut.csv", CSV, { filename: "cut.csv", original_file_id: first.body.file_id, metadata: "{nope" }, "/api/list_cutter/save_generated_file/")).body).toEqual({ error: "metadata must be a JSON object." });
    expect(await env.DB.prepare(`SELECT count(*) AS n FROM files WHERE user_id = ?`).bind(user.id).first()).toEqual({ n: 1 });
    expect((await api("/api/list_cutter/upload/", { method: "POST", body: csvForm("a.csv", CSV) })).status).toBe(401);
  });

  it("keeps uploaded names harmless and downloads only by the owner's own names", async () => {
    const user = await newUser("files-names");
    const up = await uploadAs(user.access, "..\\..\\evil\u0007 name ü.csv");
    const row = await env.DB.prepare(`SELECT file_name, r2_key FROM files WHERE id = ?`).bind(up.body.file_id).first<{ file_name: string; r2_key: string }>();
    expect(row).toEqual({ file_name: "evil name ü.csv", r2_key: `uploads/user-${user.id}/${up.body.file_id}.csv` });
    for (const name of ["..%2F..%2Fexports%2Fmain%2Fusers.csv", "%2e%2e", "%E0%A4%A", "evil%20name%20%C3%BC.csv%00"]) {
      expect((await api(`/api/list_cutter/download/${name}/`, { token: user.access })).status, name).toBe(404);
    }
    const ok = await api(`/api/list_cutter/download/${encodeURIComponent("evil name ü.csv")}/`, { token: user.access });
    expect(ok.headers.get("content-disposition")).toBe(`attachment; filename="evil name _.csv"; filename*=UTF-8''evil%20name%20%C3%BC.csv`);
    expect(await sha256Hex(ok.body!)).toBe(await sha256Hex(new Blob([CSV]).stream()));
  });

  it("is what the gate serves to users on the new side", async () => {
    const user = await newUser("through-gate");
    await patchCutover({ allowlist: { new: { users: [user.id] } } });
    await afterCacheTtl();
    const res = await worker("/api/accounts/user/", { headers: { authorization: `Bearer ${user.access}` } });
    expect(res.headers.get("x-served-by")).toBe("workers");
    expect(await res.json()).toEqual({ id: user.id, username: "through-gate", email: "through-gate@example.com" });
  });
});
