import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import type { MigrationCoordinator } from "../../src/coordinator/coordinator";
import type { PlanCursor } from "../../src/coordinator/jobs";
import { ROUND_TRIP_ROWS } from "../../src/coordinator/round-trip";
import { bundlePrefix, PART_ROWS, type BundleManifest } from "../../src/sync/reverse-bundle-format";
import { changeByHand, jobOf, ownCoordinator, wakeByHand } from "../helpers";

const USER = 5;
const FILTERS = 2_100;
const RENAMED = 50;
const DELETED = 50;

/** Many outbox entries written straight to D1: filters created, some renamed later, some deleted. */
async function seed(): Promise<void> {
  const range = (n: number) => `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${n})`;
  await env.DB.batch([
    env.DB.prepare(`INSERT INTO users (id, username, password_hash, date_joined) VALUES (?, 'bulk-owner', 'x', '2024-01-01T00:00:00.000Z')`).bind(USER),
    env.DB.prepare(`${range(FILTERS)} INSERT INTO saved_filters (id, user_id, name, filter_config) SELECT i, ${USER}, 'filter ' || i, '{}' FROM n`),
    env.DB.prepare(`${range(FILTERS)} INSERT INTO outbox (tbl, row_id, op, user_id) SELECT 'saved_filters', CAST(i AS TEXT), 'upsert', ${USER} FROM n ORDER BY i`),
    env.DB.prepare(`UPDATE saved_filters SET name = 'renamed ' || id WHERE id <= ${RENAMED}`),
    env.DB.prepare(`${range(RENAMED)} INSERT INTO outbox (tbl, row_id, op, user_id) SELECT 'saved_filters', CAST(i AS TEXT), 'upsert', ${USER} FROM n ORDER BY i`),
    env.DB.prepare(`DELETE FROM saved_filters WHERE id > ${FILTERS - DELETED}`),
    env.DB.prepare(
      `${range(DELETED)} INSERT INTO outbox (tbl, row_id, op, user_id, snapshot) SELECT 'saved_filters', CAST(${FILTERS - DELETED} + i AS TEXT), 'delete', ${USER}, json_object('id', ${FILTERS - DELETED} + i) FROM n ORDER BY i`,
    ),
  ]);
}

function plan(stub: DurableObjectStub<MigrationCoordinator>, id: string): Promise<PlanCursor> {
  return runInDurableObject(stub, (_i: MigrationCoordinator, state) => JSON.parse(state.storage.sql.exec<{ plan: string }>(`SELECT plan FROM jobs WHERE id = ?`, id).one().plan) as PlanCursor);
}

async function part(jobId: string, name: string): Promise<Record<string, string>[]> {
  const text = await (await env.FILES.get(bundlePrefix(jobId) + name))!.text();
  return Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: true }).data;
}

describe("a reverse job plans in bounded, checkpointed steps", () => {
  it("reads the outbox a page per step, writes each part whole, resumes after eviction, and marks the applied rows in bounded steps", async () => {
    await seed();
    const stub = ownCoordinator("reverse-steps");
    const id = await changeByHand(stub, async (instance) => {
      const created = await instance.createJob({ kind: "reverse" }, "test");
      if (!created.ok) throw new Error(created.error);
      return created.value.id;
    });
    const created = await jobOf(stub, id);
    const toSeq = FILTERS + RENAMED + DELETED;
    expect(created).toMatchObject({ state: "planning", fromSeq: 0, toSeq });

    // After the job fixed its range: the last kept filter is deleted (an entry past toSeq). Its
    // upsert is left out of this bundle; the deletion belongs to the next.
    const last = FILTERS - DELETED;
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO outbox (tbl, row_id, op, user_id, snapshot) VALUES ('saved_filters', ?, 'delete', ?, json_object('id', ?))`).bind(String(last), USER, last),
      env.DB.prepare(`DELETE FROM saved_filters WHERE id = ?`).bind(last),
    ]);

    const steps: PlanCursor[] = [];
    for (let i = 0; i < 30 && (await jobOf(stub, id)).state === "planning"; i++) {
      await wakeByHand(stub);
      steps.push(await plan(stub, id));
      await evictDurableObject(stub);
    }
    expect(steps).toEqual([
      { step: "collect", afterSeq: 1_000 },
      { step: "collect", afterSeq: 2_000 },
      { step: "bundle", table: "users", afterSeq: 0 },
      { step: "bundle", table: "files", afterSeq: 0 },
      { step: "bundle", table: "filters", afterSeq: 0 },
      { step: "bundle", table: "filters", afterSeq: 1_050 },
      { step: "bundle", table: "filters", afterSeq: 2_050 },
      { step: "bundle", table: "deletions", afterSeq: 0 },
      { step: "manifest" },
      { step: "done" },
    ]);
    for (let i = 0; i < 5 && (await jobOf(stub, id)).state !== "completed"; i++) await wakeByHand(stub);
    const job = await jobOf(stub, id);
    expect(job).toMatchObject({ state: "completed", items: { total: 0 }, counts: { users: 0, files: 0, filters: FILTERS - DELETED - 1, deletions: DELETED } });

    const manifest = await (await env.FILES.get(`${bundlePrefix(id)}manifest.json`))!.json<BundleManifest>();
    expect(manifest.parts).toEqual({ users: [], files: [], filters: ["filters-0001.csv", "filters-0002.csv", "filters-0003.csv"], deletions: ["deletions-0001.csv"] });
    const parts = [await part(id, "filters-0001.csv"), await part(id, "filters-0002.csv"), await part(id, "filters-0003.csv")];
    expect(parts.map((p) => p.length)).toEqual([PART_ROWS, PART_ROWS - 1, RENAMED]);
    // Outbox order, one line per filter, each as D1 holds it now (the renamed ones last, renamed).
    const ids = parts.flat().map((r) => Number(r.id));
    expect(ids).toEqual([...Array.from({ length: last - RENAMED - 1 }, (_, i) => RENAMED + 1 + i), ...Array.from({ length: RENAMED }, (_, i) => i + 1)]);
    expect(parts[2]!.every((r) => r.name === `renamed ${r.id}`)).toBe(true);
    expect((await part(id, "deletions-0001.csv")).map((r) => Number(r.id))).toEqual(Array.from({ length: DELETED }, (_, i) => last + 1 + i));

    // Applied: the round trip marks ROUND_TRIP_ROWS rows per step, on later wake-ups after the first.
    const answer = await changeByHand(stub, (instance) => instance.bundleApplied(id, toSeq, "test"));
    expect(answer).toMatchObject({ ok: true, value: { jobId: id, toSeq } });
    expect((await jobOf(stub, id)).roundTrip).toEqual({ marked: ROUND_TRIP_ROWS, done: false });
    for (let i = 0; i < 20 && !(await jobOf(stub, id)).roundTrip?.done; i++) await wakeByHand(stub);
    expect((await jobOf(stub, id)).roundTrip).toEqual({ marked: last - 1, done: true });
    const marked = await env.DB.prepare(`SELECT count(*) AS n FROM saved_filters WHERE legacy_id = id AND json_extract(legacy_base, '$.name') = name`).first<{ n: number }>();
    expect(marked!.n).toBe(last - 1);
    expect(await runInDurableObject(stub, (instance: MigrationCoordinator) => instance.createJob({ kind: "reverse" }, "test"))).toMatchObject({ ok: true, value: { fromSeq: toSeq, toSeq: toSeq + 1 } });
  });
});
