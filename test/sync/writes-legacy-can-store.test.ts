import { describe, expect, it } from "vitest";
import { api, apiJson, csvForm, newUser } from "../helpers";
import { lastSeq } from "./reverse";

const CSV = "id,name\n1,Ann\n";

/**
 * Every write the new app accepts must be storable on legacy: PostgreSQL refuses NUL in text and
 * `\u0000` or unpaired surrogates in jsonb, and one such value would make every reverse sync fail.
 */
describe("writes legacy could not store are refused where they come in", () => {
  it("refuses NUL and unpaired surrogates in tags, filter fields and cut metadata (400 naming the field); writes nothing", async () => {
    const { access: token } = await newUser("unstorable-writer");
    const up = await api("/api/list_cutter/upload/", { method: "POST", body: csvForm("a.csv", CSV), token });
    const { file_id } = await up.json<{ file_id: string }>();
    const before = await lastSeq();
    const bad = ["nul\u0000here", "lone \ud800 high", "lone \udc00 low"];
    for (const text of bad) {
      const tags = await apiJson(`/api/list_cutter/update_tags/${file_id}/`, { user_tags: [text] }, { method: "PATCH", token });
      expect([tags.status, Object.keys(tags.body)], JSON.stringify(text)).toEqual([400, ["user_tags.0"]]);
      for (const body of [{ name: text, filter_config: {} }, { name: "n", description: text, filter_config: {} }, { name: "n", filter_config: { [text]: "> 1" } }, { name: "n", filter_config: { a: [{ b: text }] } }]) {
        const res = await apiJson("/api/list_cutter/filters/", body, { token });
        expect(res.status, JSON.stringify(body)).toBe(400);
      }
      const cut = await api("/api/list_cutter/save_generated_file/", { method: "POST", body: csvForm("cut.csv", CSV, { filename: "cut.csv", original_file_id: file_id, metadata: JSON.stringify({ note: text }) }), token });
      expect(cut.status).toBe(400);
      expect(await cut.json()).toMatchObject({ error: expect.stringMatching(/^metadata must not contain NUL/) });
    }
    expect(await lastSeq()).toBe(before);
    // Ordinary text, surrogate pairs (emoji) included, is fine.
    expect((await apiJson(`/api/list_cutter/update_tags/${file_id}/`, { user_tags: ["ok 😀"] }, { method: "PATCH", token })).status).toBe(200);
  });

  it("records nothing for a write that changes nothing, so a user is not held back for it", async () => {
    const { access: token } = await newUser("no-op-writer");
    const up = await api("/api/list_cutter/upload/", { method: "POST", body: csvForm("b.csv", CSV), token });
    const { file_id } = await up.json<{ file_id: string }>();
    expect((await apiJson(`/api/list_cutter/update_tags/${file_id}/`, { user_tags: ["x"] }, { method: "PATCH", token })).status).toBe(200);
    const filter = await apiJson("/api/list_cutter/filters/", { name: "f", filter_config: { a: "> 1" } }, { token });
    const before = await lastSeq();
    expect((await apiJson(`/api/list_cutter/update_tags/${file_id}/`, { user_tags: ["x"] }, { method: "PATCH", token })).status).toBe(200);
    expect((await apiJson(`/api/list_cutter/filters/${filter.body.id}/`, {}, { method: "PATCH", token })).status).toBe(200);
    expect((await apiJson(`/api/list_cutter/filters/${filter.body.id}/`, { name: "f" }, { method: "PATCH", token })).body).toMatchObject({ name: "f" });
    expect(await lastSeq()).toBe(before);
    expect((await apiJson(`/api/list_cutter/filters/${filter.body.id}/`, { name: "g" }, { method: "PATCH", token })).status).toBe(200);
    expect(await lastSeq()).toBe(before + 1);
  });
});
