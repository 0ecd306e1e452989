import { d1Message, runIsolated } from "../lib/d1";
import type { AppliedRecord, ReverseStore, ShippedRow } from "./reverse-store";

/** Shipped rows marked per step: one D1 batch of single-row updates. */
export const ROUND_TRIP_ROWS = 200;

/**
 * The round trip of an applied bundle: every row it shipped becomes, in D1, a row legacy knows, as
 * legacy now holds it, so that a later delta (whose export now contains these rows) merges them
 * instead of reporting them as rows held by the new app or as changes on both sides:
 * users `legacy_id = id`, files `legacy_id = num` and `legacy_file_path` = the file_path shipped,
 * saved filters `legacy_id = id`; and `legacy_base` = the synced fields shipped (three-way-merge.ts),
 * not D1's values now, so that a change the new app made after the bundle stays a local change.
 * `changed_on` and `updated_at` are left as they are; a row deleted since changes nothing.
 *
 * One bounded step (ROUND_TRIP_ROWS rows); returns whether the bundle's round trip is finished.
 */
export async function roundTripStep(db: D1Database, store: ReverseStore, applied: AppliedRecord, now: number): Promise<boolean> {
  const rows = store.shippedAfter(applied.jobId, applied.markedAfter, ROUND_TRIP_ROWS);
  const outcomes = await runIsolated(db, rows.map((row) => markStatement(db, row)));
  outcomes.forEach((outcome, i) => {
    // A constraint D1 refuses (it should not happen: these ids are the new app's own) is logged; the row stays unmarked.
    if (!outcome.ok) console.error(`round trip of bundle ${applied.jobId}: ${rows[i]!.tbl} ${rows[i]!.rowId} not marked: ${d1Message(outcome.error)}`);
  });
  const done = rows.length < ROUND_TRIP_ROWS;
  store.advanceRoundTrip(applied.jobId, rows.at(-1)?.seq ?? applied.markedAfter, rows.length, done, now);
  return done;
}

function markStatement(db: D1Database, row: ShippedRow): D1PreparedStatement {
  const base = JSON.stringify(row.shipped.base);
  switch (row.tbl) {
    case "users":
      return db.prepare(`UPDATE users SET legacy_id = id, legacy_base = ? WHERE id = ?`).bind(base, Number(row.rowId));
    case "files":
      return db.prepare(`UPDATE files SET legacy_id = num, legacy_file_path = coalesce(?, legacy_file_path), legacy_base = ? WHERE id = ?`).bind(row.shipped.filePath ?? null, base, row.rowId);
    case "saved_filters":
      // A filter's id is freed when it is deleted and may number the next one: only the owner's row
      // as shipped is marked (another user's filter that took the id since is not legacy's).
      return db.prepare(`UPDATE saved_filters SET legacy_id = id, legacy_base = ? WHERE id = ? AND user_id = ?`).bind(base, Number(row.rowId), row.shipped.base.user_id ?? null);
  }
}
