import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { api, newUser } from "../helpers";

const MiB = 1024 * 1024;

/** Stores `content` as a file of `user` and returns its path for export_csv. */
async function storeFile(user: { id: number }, name: string, content: string): Promise<string> {
  const key = `uploads/user-${user.id}/${crypto.randomUUID()}.csv`;
  await env.FILES.put(key, content);
  await env.DB.prepare(`INSERT INTO files (id, num, user_id, file_name, r2_key, size, checksum, uploaded_at) VALUES (?, (SELECT coalesce(max(num), 2000000000) + 1 FROM files), ?, ?, ?, ?, 'x', '2024-01-01')`)
    .bind(crypto.randomUUID(), user.id, name, key, content.length)
    .run();
  return key;
}

function exportCsv(token: string, filePath: string, filters: Record<string, string> = {}) {
  return api("/api/list_cutter/export_csv/", { method: "POST", body: JSON.stringify({ columns: ["id", "name"], file_path: filePath, filters }), headers: { "content-type": "application/json" }, token });
}

/** Reads a body as text until it ends or fails, giving up after `budgetMs`. */
async function drain(body: ReadableStream<Uint8Array>, budgetMs: number): Promise<{ text: string; error: unknown; ms: number }> {
  const start = performance.now();
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      if (performance.now() - start > budgetMs) {
        await reader.cancel();
        throw new Error(`still streaming after ${budgetMs} ms`);
      }
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    return { text, error: null, ms: performance.now() - start };
  } catch (error) {
    return { text, error, ms: performance.now() - start };
  }
}

describe("export_csv of files with records past the cap", () => {
  it("refuses a file whose header row is longer than the cap with a 400 naming the file", async () => {
    const user = await newUser("export-long-header");
    for (const content of ["id,name," + "h".repeat(20 * MiB), 'id,"name\n' + "h,\n".repeat(7 * MiB)]) {
      const path = await storeFile(user, "long-header.csv", content);
      const start = performance.now();
      const res = await exportCsv(user.access, path);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: "The header row of the file is longer than 1 MiB." });
      expect(performance.now() - start).toBeLessThan(2_000);
    }
  });

  it.each([
    ["a 20 MiB line", "3,x" + "y".repeat(20 * MiB)],
    ["a 20 MiB unterminated quote", '3,"' + "y,y\n".repeat(5 * MiB)],
  ])("ends the stream with an error at %s, after the rows before it", async (_name, long) => {
    const user = await newUser(`export-long-row-${long.length}`);
    const path = await storeFile(user, "long-row.csv", `id,name\n1,Ann\n2,Bob\n${long}\n4,Dan\n`);
    const res = await exportCsv(user.access, path);
    expect(res.status).toBe(200);
    const out = await drain(res.body!, 3_000);
    expect(String(out.error)).toContain("longer than 1 MiB");
    expect(out.text.startsWith("id,name\r\n1,Ann\r\n2,Bob\r\n")).toBe(true);
    expect(out.ms).toBeLessThan(2_000);
  });
});
