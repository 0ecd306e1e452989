import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, csvForm, newUser } from "../helpers";

const encoder = new TextEncoder();
const MiB = 1024 * 1024;
const ROW_TOO_LONG = { error: "A row of the file is longer than 1 MiB." };

/**
 * A multipart body whose file part is `head` followed by `fill` up to `total` bytes, generated as it
 * is read (so that a 40 MiB upload costs no memory), counting how many bytes were pulled.
 */
function streamedUpload(name: string, head: string, fill: string, total: number) {
  const boundary = "----long-record-test";
  const chunk = encoder.encode(fill.repeat(Math.ceil(16_384 / fill.length)).slice(0, 16_384));
  const parts = [encoder.encode(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${name}"\r\ncontent-type: text/csv\r\n\r\n${head}`)];
  let sent = 0;
  let left = total - head.length;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      let next = parts.shift();
      if (!next && left > 0) {
        next = chunk.subarray(0, Math.min(chunk.length, left));
        left -= next.length;
      } else if (!next) {
        next = encoder.encode(`\r\n--${boundary}--\r\n`);
        controller.enqueue(next);
        controller.close();
        sent += next.length;
        return;
      }
      sent += next.length;
      controller.enqueue(next);
    },
  });
  return { body, contentType: `multipart/form-data; boundary=${boundary}`, sent: () => sent };
}

async function objectsUnder(prefix: string): Promise<string[]> {
  return (await env.FILES.list({ prefix })).objects.map((o) => o.key);
}

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await run();
  return { value, ms: performance.now() - start };
}

describe("uploads with a row longer than the record cap", () => {
  it.each([
    ["a 40 MiB single line", "id,name\n1,Ann\n2,", "x"],
    ["a 40 MiB unterminated quote", 'id,name\n1,Ann\n2,"', "more, text\n"],
  ])("%s is refused with a 413 as soon as the row passes 1 MiB, without reading the rest", async (_name, head, fill) => {
    const user = await newUser(`long-row-${fill.length}`);
    const upload = streamedUpload("long.csv", head, fill, 40 * MiB);
    const { value: res, ms } = await timed(() => api("/api/list_cutter/upload/", { method: "POST", body: upload.body, headers: { "content-type": upload.contentType }, token: user.access }));
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual(ROW_TOO_LONG);
    expect(ms).toBeLessThan(3_000);
    expect(upload.sent()).toBeLessThan(4 * MiB);
    expect(await objectsUnder(`uploads/user-${user.id}/`)).toEqual([]);
    expect(await env.DB.prepare(`SELECT count(*) AS n FROM files WHERE user_id = ?`).bind(user.id).first("n")).toBe(0);
  });

  it("refuses a 1.9 MiB single-line file (under MAX_FILE_SIZE) at every CSV entry point", async () => {
    const user = await newUser("long-row-entry-points");
    const scratchBefore = await objectsUnder("cuts/");
    const content = "id,name\n1," + "y".repeat(1.9 * MiB);
    for (const [path, fields] of [
      ["/api/list_cutter/upload/", {}],
      ["/api/list_cutter/save_generated_file/", { filename: "cut.csv" }],
      ["/api/list_cutter/csv_cutter/", {}],
    ] as const) {
      const { value: res, ms } = await timed(() => api(path, { method: "POST", body: csvForm("long.csv", content, fields), token: user.access }));
      expect(res.status, path).toBe(413);
      expect(await res.json(), path).toEqual(ROW_TOO_LONG);
      expect(ms, path).toBeLessThan(2_000);
    }
    expect(await objectsUnder(`uploads/user-${user.id}/`)).toEqual([]);
    expect(await objectsUnder("cuts/")).toEqual(scratchBefore);
    expect(await env.DB.prepare(`SELECT count(*) AS n FROM scratch_files WHERE user_id = ?`).bind(user.id).first("n")).toBe(0);
  });

  it("still takes rows just under the cap", async () => {
    const user = await newUser("long-row-ok");
    const content = `id,note\n1,"${"z".repeat(MiB - 8)}"\n2,short\n`;
    const res = await api("/api/list_cutter/upload/", { method: "POST", body: csvForm("ok.csv", content), token: user.access });
    expect(res.status).toBe(200);
    const { file_id } = await res.json<{ file_id: string }>();
    expect(await env.DB.prepare(`SELECT row_count, columns_metadata FROM files WHERE id = ?`).bind(file_id).first()).toEqual({ row_count: 2, columns_metadata: '["id","note"]' });
  });
});
