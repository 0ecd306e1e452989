import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { MigrationCoordinator } from "../../src/coordinator/coordinator";
import { JobStore } from "../../src/coordinator/jobs";
import { Ledger, type NewItem } from "../../src/coordinator/ledger";
import { jobSettingsSchema } from "../../src/coordinator/model";
import { COORDINATOR_MIGRATIONS } from "../../src/coordinator/schema";
import { runMigrations, schemaVersion } from "../../src/lib/do-migrations";
import { jobOf, ownCoordinator } from "../helpers";

const LATEST = COORDINATOR_MIGRATIONS.length;

function item(n: number, expectedSize: number | null, failure?: NewItem["failure"]): NewItem {
  const fileId = `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
  return { fileId, sourcePath: `uploads/f${n}.csv`, r2Key: `uploads/user-1/${fileId}.csv`, expectedSize, payload: { legacyPath: `/app/media/uploads/f${n}.csv` }, ...(failure ? { failure } : {}) };
}

/** Every table's rows and every schema object, to compare storage before and after. */
function dump(sql: SqlStorage) {
  const objects = sql.exec<{ type: string; name: string; sql: string | null }>(`SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE '_cf_%' AND name NOT LIKE 'sqlite_%' ORDER BY type, name`).toArray();
  const rows = Object.fromEntries(objects.filter((o) => o.type === "table").map((t) => [t.name, sql.exec(`SELECT * FROM "${t.name}" ORDER BY 1, 2`).toArray()]));
  return { objects, rows };
}

describe("the coordinator's schema migrations", () => {
  it("bring a ledger written before versioning, and before item totals, to the latest version once", async () => {
    const stub = ownCoordinator("schema-migrations");
    const jobId = crypto.randomUUID();
    // Storage as the code before versioning left it: today's tables (migration 1 is them, verbatim)
    // and no version; a job with items in every state; and, as before item_totals, no totals.
    const expected = await runInDurableObject(stub, async (_instance: MigrationCoordinator, state) => {
      await state.storage.deleteAll();
      const { sql } = state.storage;
      sql.exec(COORDINATOR_MIGRATIONS[0]!.sql);
      const jobs = new JobStore(sql);
      const ledger = new Ledger(sql);
      const settings = jobSettingsSchema.parse({});
      jobs.create({ id: jobId, kind: "full", exportSet: "old", settings, plan: { step: "done" } }, 1_000);
      ledger.insert(jobId, [item(1, null), item(2, 300), item(3, 400), item(4, 100), item(5, 50, { reason: "unsafe_path", detail: "outside MEDIA_ROOT" })]);
      const [first, second] = ledger.lease(jobId, 3, 1_500, 60_000);
      // Done as the ledger wrote it before migration 7 (which added items.identical).
      const done = (fileId: string, bytes: number, sha256: string) =>
        sql.exec(`UPDATE items SET state = 'done', bytes = ?, sha256 = ?, error = NULL, detail = NULL, lease_until = NULL WHERE job_id = ? AND file_id = ?`, bytes, sha256, jobId, fileId);
      done(first!.fileId, 250, "a".repeat(64));
      done(second!.fileId, 300, "b".repeat(64));
      jobs.update(jobId, { state: "completed_with_failures", finishedAt: 2_000 }, 2_000);
      const counts = ledger.counts(jobId);
      sql.exec(`DELETE FROM item_totals`);
      expect(schemaVersion(state.storage)).toBe(0);
      expect(ledger.counts(jobId).total).toBe(0);
      return counts;
    });
    expect(expected).toMatchObject({ total: 5, pending: 1, leased: 1, done: 2, failed: 1, bytesDone: 550 });

    // The next call constructs the object again, and its constructor migrates the storage first.
    await evictDurableObject(stub);
    const job = await jobOf(stub, jobId);
    expect(job).toMatchObject({
      state: "completed_with_failures",
      items: { total: 5, pending: 1, leased: 1, done: 2, failed: 1 },
      bytes: { total: expected.bytesKnown, done: 550 },
    });
    const migrated = await runInDurableObject(stub, (_instance: MigrationCoordinator, state) => ({ version: schemaVersion(state.storage), storage: dump(state.storage.sql) }));
    expect(migrated.version).toBe(LATEST);
    // Items copied before `identical` existed count as copied.
    const report = await stub.reportItems(jobId, "", 10, false);
    expect(report.ok && report.value.entries.map((i) => i.outcome)).toEqual(["transferred", "transferred", "leased", "pending", "failed"]);

    // Running them again, directly or by a new construction, changes nothing.
    await runInDurableObject(stub, (_instance: MigrationCoordinator, state) => {
      expect(runMigrations(state.storage, COORDINATOR_MIGRATIONS)).toBe(LATEST);
      expect(dump(state.storage.sql)).toEqual(migrated.storage);
    });
    await evictDurableObject(stub);
    expect(await jobOf(stub, jobId)).toEqual(job);
    const again = await runInDurableObject(stub, (_instance: MigrationCoordinator, state) => ({ version: schemaVersion(state.storage), storage: dump(state.storage.sql) }));
    expect(again).toEqual(migrated);
  });

  it("refuses a list that is out of order", async () => {
    await runInDurableObject(ownCoordinator("schema-order"), (_instance: MigrationCoordinator, state) => {
      const [first, second] = COORDINATOR_MIGRATIONS;
      expect(() => runMigrations(state.storage, [second!, first!])).toThrow(/numbered 2/);
    });
  });
});
