import { describe, expect, it } from "vitest";
import { MAX_CLAUSE_LENGTH } from "../../src/app/filter-clauses";
import { api, csvForm } from "../helpers";

describe("export_csv with an overlong filter clause", () => {
  it("answers 400 naming the column, at once", async () => {
    const upload = await api("/api/list_cutter/csv_cutter/", { method: "POST", body: csvForm("t.csv", "id,amount\n1,5\n2,50\n") });
    const { file_path } = await upload.json<{ file_path: string }>();
    for (const clause of ["BETWEEN 1" + " ".repeat(5_000) + "AND 2", "BETWEEN" + " ".repeat(3_000) + "x"]) {
      const start = performance.now();
      const res = await api("/api/list_cutter/export_csv/", { method: "POST", body: JSON.stringify({ columns: ["id"], file_path, filters: { amount: clause } }), headers: { "content-type": "application/json" } });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: `Invalid filter for column 'amount': the clause is longer than ${MAX_CLAUSE_LENGTH} characters` });
      expect(performance.now() - start).toBeLessThan(500);
    }
  });
});
