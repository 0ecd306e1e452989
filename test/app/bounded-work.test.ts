import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { signJwt } from "../../src/lib/jwt";
import { TEST_LEGACY_JWT_SECRET } from "../config";
import { api, apiJson, csvForm, newUser } from "../helpers";

describe("no request makes the new app do or hold unbounded work", () => {
  it("export_csv refuses repeated or too many columns and filters before reading the file", async () => {
    const cut = await (await api("/api/list_cutter/csv_cutter/", { method: "POST", body: csvForm("a.csv", "a,b\n1,2\n") })).json<{ file_path: string }>();
    const post = (body: unknown) => apiJson("/api/list_cutter/export_csv/", body);
    expect(await post({ columns: new Array(16_000).fill("a"), file_path: cut.file_path })).toMatchObject({ status: 400 });
    expect(await post({ columns: ["a", " a"], file_path: cut.file_path })).toMatchObject({ status: 400 });
    expect(await post({ columns: ["a"], file_path: cut.file_path, filters: { a: "> 1", " a": "< 5" } })).toMatchObject({ status: 400 });
    const ok = await api("/api/list_cutter/export_csv/", { method: "POST", body: JSON.stringify({ columns: ["b", "a"], file_path: cut.file_path }) });
    expect(await ok.text()).toBe("b,a\r\n2,1\r\n");
  });

  it("an upload with more columns than the app keeps is a 413, and leaves nothing behind", async () => {
    const before = (await env.FILES.list({ prefix: "cuts/" })).objects.length;
    const res = await api("/api/list_cutter/csv_cutter/", { method: "POST", body: csvForm("wide.csv", ",".repeat(300_000) + "\n") });
    expect(res.status).toBe(413);
    expect((await env.FILES.list({ prefix: "cuts/" })).objects.length).toBe(before);
  });

  it("fetch_saved_file previews at most 1 MiB of cells, whatever the rows hold", async () => {
    const user = await newUser("previewer");
    const row = "x".repeat(100_000);
    const key = `uploads/user-${user.id}/00000000-0000-4000-8000-0000000000aa.csv`;
    await env.FILES.put(key, `a\n${`${row}\n`.repeat(40)}`);
    await env.DB.prepare(`INSERT INTO files (id, num, user_id, file_name, r2_key, size, checksum, uploaded_at) VALUES (?, ?, ?, 'long.csv', ?, 0, '', '2026-01-01T00:00:00Z')`)
      .bind("00000000-0000-4000-8000-0000000000aa", 1_999_999_999, user.id, key)
      .run();
    const res = await api(`/api/list_cutter/fetch_saved_file/?file_id=00000000-0000-4000-8000-0000000000aa`, { token: user.access });
    expect(res.status).toBe(200);
    const body = await res.json<{ data: unknown[] }>();
    expect(body.data.length).toBeGreaterThan(0);
    expect(body.data.length).toBeLessThanOrEqual(10);
  });

  it("fetch_saved_file reads only the file's first 4 MiB, even when the rows it skips are all blank", async () => {
    const user = await newUser("blank-previewer");
    const key = `uploads/user-${user.id}/00000000-0000-4000-8000-0000000000bb.csv`;
    await env.FILES.put(key, "a\n" + "\n".repeat(40 * 1024 * 1024) + "tail\n");
    await env.DB.prepare(`INSERT INTO files (id, num, user_id, file_name, r2_key, size, checksum, uploaded_at) VALUES (?, ?, ?, 'blank.csv', ?, 0, '', '2026-01-01T00:00:00Z')`)
      .bind("00000000-0000-4000-8000-0000000000bb", 1_999_999_998, user.id, key)
      .run();
    const started = performance.now();
    const res = await api(`/api/list_cutter/fetch_saved_file/?file_id=00000000-0000-4000-8000-0000000000bb`, { token: user.access });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ columns: ["a"], data: [] });
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it("a file keeps at most 200 tags", async () => {
    const user = await newUser("tagger");
    const { file_id } = await (await api("/api/list_cutter/upload/", { method: "POST", body: csvForm("t.csv", "a\n1\n"), token: user.access })).json<{ file_id: string }>();
    const statuses: number[] = [];
    for (let round = 0; round < 5; round++) {
      const tags = Array.from({ length: 50 }, (_, i) => `tag-${round}-${i}`);
      statuses.push((await api(`/api/list_cutter/update_tags/${file_id}/`, { method: "PATCH", token: user.access, body: JSON.stringify({ user_tags: tags }) })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 400]);
  });

  it("a multipart body that breaks off is a 400, not a 500", async () => {
    const { access } = await newUser("broken-upload");
    const boundary = "XyZ";
    const head = new TextEncoder().encode(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\na,b\n1,2\n`);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(head);
        controller.error(new Error("connection reset by peer"));
      },
    });
    const res = await api("/api/list_cutter/upload/", { method: "POST", body, token: access, headers: { "content-type": `multipart/form-data; boundary=${boundary}` } });
    expect(res.status).toBe(400);
  });

  it("a legacy refresh token whose jti is not ASCII is refused (it could not be a KV key), not a 500", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await signJwt({ token_type: "refresh", user_id: 1, jti: "é".repeat(255), iat: now, exp: now + 600 }, TEST_LEGACY_JWT_SECRET);
    expect((await apiJson("/api/accounts/token/refresh/", { refresh: token })).status).toBe(401);
  });
});
