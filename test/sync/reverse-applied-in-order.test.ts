import { describe, expect, it } from "vitest";
import { apiJson, newUser, resetPrimaryCoordinator } from "../helpers";
import { applied, runReverse } from "./reverse";

describe("reporting a bundle applied", () => {
  it("is refused while an earlier range is not applied: the users it releases would have writes legacy never got", async () => {
    await resetPrimaryCoordinator();
    const { access: token } = await newUser("gap-writer");
    const first = await runReverse();
    expect((await apiJson("/api/list_cutter/filters/", { name: "after the first bundle", filter_config: {} }, { token })).status).toBe(201);
    const second = await runReverse({ since: first.toSeq });
    expect(second).toMatchObject({ state: "completed", fromSeq: first.toSeq });

    const early = await applied(second.id, second.toSeq);
    expect(early.status).toBe(409);
    expect(early.body).toMatchObject({ field: "fromSeq" });
    expect((await applied(first.id, first.toSeq)).status).toBe(200);
    expect((await applied(second.id, second.toSeq)).status).toBe(200);
  });
});
