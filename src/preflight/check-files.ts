import { selectStored, type StoredRow } from "../coordinator/d1-import";
import type { Decoded } from "../coordinator/import-writes";
import { declaredSize, fileRecord } from "../coordinator/file-record";
import { RowMerge } from "../coordinator/row-merge";
import type { FileRow } from "../legacy/export-contract";
import { relativeMediaPath } from "../legacy/paths";
import { batchRead } from "../sync/select-in";
import { fileValues } from "../sync/synced-rows";
import { selectTombstones } from "../sync/tombstones";
import { knownUser, notedMerge, selectD1Users, type ScanState } from "./scan-state";

/**
 * What planning a batch of files.csv would do in a full job, by planner.ts's rules (planFiles),
 * read-only: a file the new app deleted is skipped; a file_id D1 holds for another legacy file is
 * refused; any other row becomes an item (a file_id seen before is a duplicate), which fails at
 * once for an unsafe path, a user kept out by a username conflict or an unknown user. What is left
 * would be copied (a delta job would skip those D1 already holds); a declared size above
 * MAX_FILE_SIZE would fail the copy, so it is counted as refused too.
 */
export async function checkFiles(state: ScanState, rows: Decoded<FileRow>): Promise<void> {
  const { env, tally, counts } = state;
  const db = env.DB;
  const fileIds = rows.map((r) => r.row.file_id);
  const [users, stored, graves] = (await batchRead(db, [
    selectD1Users(state, rows.map((r) => r.row.user_id)),
    selectStored(db, "files", fileIds),
    selectTombstones(db, "files", fileIds),
  ])) as [{ id: number }[], StoredRow[], { row_id: string }[]];
  const d1Users = new Set(users.map((u) => u.id));
  const byId = new Map(stored.map((s) => [s.id, s]));
  const deleted = new Set(graves.map((g) => g.row_id));
  for (const { record, row } of rows) {
    const { line } = record;
    if (deleted.has(row.file_id)) {
      counts.files.deletedOnNew++;
      continue;
    }
    const held = byId.get(row.file_id);
    if (held && held.legacy_id !== row.id) {
      tally.note("files", line, "file_id_held", `file_id: ${row.file_id} is held in D1 by another file`);
      continue;
    }
    if (held) notedMerge(state, "files", line, new RowMerge("files", held, fileValues(fileRecord(row))));
    if (state.items.has(row.file_id)) {
      tally.note("files", line, "duplicate_file_id", `file_id: ${row.file_id} appears more than once`);
      continue;
    }
    state.items.add(row.file_id);
    const source = relativeMediaPath(row.file_path, env.LEGACY_MEDIA_ROOT);
    const declared = declaredSize(row.metadata);
    if (!source.ok) tally.note("files", line, "unsafe_path", source.detail);
    else if (state.blockedUsers.has(row.user_id)) tally.note("files", line, "user_in_conflict", `user ${row.user_id} would not be imported: its username is taken`);
    else if (!knownUser(state, d1Users, row.user_id)) tally.note("files", line, "unknown_user", `user ${row.user_id} would not be imported`);
    else if (declared !== null && declared > state.maxFileSize) tally.note("files", line, "too_large", `declared size ${declared} exceeds MAX_FILE_SIZE (${state.maxFileSize} bytes)`);
    else {
      counts.files.wouldCopy++;
      if (held) counts.files.alreadyInD1++;
      if (declared === null) counts.files.undeclaredSize++;
      else counts.files.bytesDeclared += declared;
      state.sample.offer({ fileId: row.file_id, line, path: source.relativePath, declared });
    }
  }
}
