import { env } from "cloudflare:workers";
import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import { api, apiJson, csvForm, newUser } from "../helpers";

const TABLE = [
  "id,name,amount,city,note",
  "1,Ann,10,Oslo,plain",
  "2,Bob,25.5,Lima,\"has, comma\"",
  "3,Cat,n/a,Oslo,\"say \"\"hi\"\"\"",
  "4,Dan,,Lima,\"two\nlines\"",
  "5,Eve,100,Nairobi,=SUM(A1:A9)",
  "6,Fay,-7,Osaka,+cmd",
  "7,Gus,40,San Jose,@handle",
].join("\n");

async function cutter(name: string, content: string, token?: string) {
  const res = await api("/api/list_cutter/csv_cutter/", { method: "POST", body: csvForm(name, content), token });
  return { status: res.status, body: (await res.json()) as any };
}

async function cut(filePath: string, columns: string[], filters: Record<string, string> = {}, token?: string) {
  const res = await api("/api/list_cutter/export_csv/", { method: "POST", body: JSON.stringify({ columns, file_path: filePath, filters }), headers: { "content-type": "application/json" }, token });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const ids = (csv: string) => Papa.parse<string[]>(csv.trim(), { skipEmptyLines: true }).data.slice(1).map((r) => r[0]);

describe("csv_cutter and export_csv reproduce the legacy filter semantics", () => {
  let path = "";
  it("csv_cutter stores the upload and returns its columns", async () => {
    const res = await cutter("people.csv", TABLE);
    expect(res).toEqual({ status: 200, body: { columns: ["id", "name", "amount", "city", "note"], file_path: expect.stringMatching(/^cuts\/[0-9a-f-]{36}\.csv$/) } });
    path = res.body.file_path;
  });

  it.each([
    ["> (numeric, non-numbers out)", { amount: "> 20" }, ["2", "5", "7"]],
    ["< (negative numbers count)", { amount: "< 20" }, ["1", "6"]],
    [">=", { amount: ">= 25.5" }, ["2", "5", "7"]],
    ["<=", { amount: "<= 10" }, ["1", "6"]],
    ["= on text", { city: "= Oslo" }, ["1", "3"]],
    ["= on numbers compares numbers", { amount: "= 100.0" }, ["5"]],
    ["!= keeps non-numeric and empty cells", { city: "!= Lima" }, ["1", "3", "5", "6", "7"]],
    ["a bare value is equality", { name: "Eve" }, ["5"]],
    ["BETWEEN a AND b (inclusive, numeric)", { amount: "BETWEEN 10 AND 40" }, ["1", "2", "7"]],
    ["IN with quoted items", { city: "IN (Lima, 'San Jose', \"Osaka\")" }, ["2", "4", "6", "7"]],
    ["empty cells fail numeric tests", { amount: ">= -1000" }, ["1", "2", "5", "6", "7"]],
    ["several columns: all must pass", { city: "IN (Oslo, Lima)", amount: "> 5" }, ["1", "2"]],
    ["an empty clause filters nothing", { amount: "  " }, ["1", "2", "3", "4", "5", "6", "7"]],
  ])("%s", async (_name, filters, expected) => {
    const res = await cut(path, ["id", "amount"], filters);
    expect(res.status).toBe(200);
    expect(ids(res.text)).toEqual(expected);
  });

  it("quotes commas, quotes and newlines, and neutralises formulas", async () => {
    const res = await cut(path, ["note", "amount", "name"]);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="filtered.csv"');
    expect(res.text).toBe(
      [
        "note,amount,name",
        "plain,10,Ann",
        '"has, comma",25.5,Bob',
        '"say ""hi""",n/a,Cat',
        '"two\nlines",,Dan',
        "'=SUM(A1:A9),100,Eve",
        "'+cmd,-7,Fay",
        "'@handle,40,Gus",
        "",
      ].join("\r\n"),
    );
  });

  it("refuses unknown columns, bad clauses and missing fields with a 400", async () => {
    expect(await cut(path, ["id", "nope"])).toMatchObject({ status: 400 });
    expect(JSON.parse((await cut(path, ["id"], { amount: "> lots" })).text)).toEqual({ error: "Invalid filter for column 'amount': '>' needs a number: > lots" });
    expect(JSON.parse((await cut(path, ["id"], { amount: "BETWEEN 1 AND x" })).text).error).toContain("BETWEEN needs two numbers");
    expect(JSON.parse((await cut(path, [])).text)).toEqual({ columns: ["No columns provided."] });
    expect((await apiJson("/api/list_cutter/export_csv/", { columns: ["id"] })).body).toEqual({ file_path: ["This field is required."] });
  });

  it("never treats file_path as an object key", async () => {
    const user = await newUser("pathtricks");
    for (const filePath of ["exports/accounts/users.csv", "../cuts/x.csv", "cuts/../exports/main/users.csv", "/app/media/../../etc/passwd", `cuts/${crypto.randomUUID()}.csv`]) {
      const res = await cut(filePath, ["id"], {}, user.access);
      expect(res.status, filePath).toBe(404);
    }
  });
});

describe("csv_cutter uploads of signed-in users", () => {
  it("can be cut only by that user", async () => {
    const owner = await newUser("cutter-owner");
    const other = await newUser("cutter-other");
    const { body } = await cutter("mine.csv", TABLE, owner.access);
    expect((await cut(body.file_path, ["id"], {}, owner.access)).status).toBe(200);
    expect((await cut(body.file_path, ["id"], {}, other.access)).status).toBe(404);
    expect((await cut(body.file_path, ["id"])).status).toBe(404);
  });
});

describe("a large cut", () => {
  it("streams a 40 MiB CSV through the filter in bounded chunks", async () => {
    const user = await newUser("bigcutter");
    const rows = 720_000;
    const line = (i: number) => `${i},name-${i},${i % 1000},${i % 2 ? "Oslo" : "Lima"},${"x".repeat(30)}\n`;
    let size = "id,name,amount,city,note\n".length;
    for (let i = 0; i < rows; i++) size += line(i).length;
    const fixed = new FixedLengthStream(size);
    const writing = (async () => {
      const writer = fixed.writable.getWriter();
      const encoder = new TextEncoder();
      await writer.write(encoder.encode("id,name,amount,city,note\n"));
      for (let i = 0; i < rows; i += 10_000) {
        let block = "";
        for (let j = i; j < Math.min(rows, i + 10_000); j++) block += line(j);
        await writer.write(encoder.encode(block));
      }
      await writer.close();
    })();
    const key = `uploads/user-${user.id}/big.csv`;
    await Promise.all([env.FILES.put(key, fixed.readable), writing]);
    expect(size).toBeGreaterThan(40 * 1024 * 1024);
    await env.DB.prepare(`INSERT INTO files (id, num, user_id, file_name, r2_key, size, checksum, uploaded_at) VALUES (?, 2000000001, ?, 'big.csv', ?, ?, 'x', '2024-01-01')`)
      .bind(crypto.randomUUID(), user.id, key, size)
      .run();

    const res = await api("/api/list_cutter/export_csv/", { method: "POST", body: JSON.stringify({ columns: ["id", "city"], file_path: key, filters: { amount: "< 10", city: "Oslo" } }), headers: { "content-type": "application/json" }, token: user.access });
    expect(res.status).toBe(200);
    let chunks = 0;
    let largest = 0;
    let lines = 0;
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) {
      chunks++;
      largest = Math.max(largest, chunk.byteLength);
      lines += decoder.decode(chunk, { stream: true }).split("\r\n").length - 1;
    }
    expect(lines).toBe(1 + 3_600); // header + 5 of every 1,000 ids (odd, with i % 1000 < 10)
    expect(chunks).toBeGreaterThan(20);
    expect(largest).toBeLessThan(1024 * 1024);
  });
});
