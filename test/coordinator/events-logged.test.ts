import { afterEach, describe, expect, it, vi } from "vitest";
import { ownCoordinator, wakeByHand } from "../helpers";

afterEach(() => vi.restoreAllMocks());

/** The JSON lines logged while `run` runs. */
async function logged(run: () => Promise<unknown>): Promise<Record<string, any>[]> {
  const lines: Record<string, any>[] = [];
  vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => {
    if (typeof args[0] !== "string") return;
    try {
      lines.push(JSON.parse(args[0]));
    } catch {
      // Not a structured line.
    }
  });
  await run();
  return lines;
}

describe("job and cutover events", () => {
  it("are logged as structured JSON lines: who changed what, and every job state", async () => {
    const stub = ownCoordinator("events");
    const lines = await logged(async () => {
      const job = await stub.createJob({ kind: "verify" }, "operator@test");
      if (!job.ok) throw new Error(job.error);
      await stub.control(job.value.id, "pause", "operator@test");
      await stub.updateCutover({ percent: 10 }, "operator@test");
      await stub.rollbackCutover("operator@test", "events test");
      await wakeByHand(stub);
    });
    const events = lines.map((l) => l.event);
    expect(events).toEqual(expect.arrayContaining(["job.create", "job.pause", "cutover.update", "cutover.rollback"]));
    const rollback = lines.find((l) => l.event === "cutover.rollback")!;
    expect(rollback).toMatchObject({ actor: "operator@test", target: "cutover", details: { reason: "events test" } });
    expect(Date.parse(rollback.at)).not.toBeNaN();
    const create = lines.find((l) => l.event === "job.create")!;
    expect(lines.filter((l) => l.event === "job.state" && l.job === create.target).map((l) => l.state).length).toBeGreaterThan(0);
  });
});
