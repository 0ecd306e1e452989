import type { Decoded } from "../coordinator/import-writes";
import { readUserBatch } from "../coordinator/user-batch";
import type { UserRow } from "../legacy/export-contract";
import { notedMerge, type ScanState } from "./scan-state";

/**
 * What importing a batch of users.csv would do, by import-users.ts's rules, read-only: a user D1
 * holds is merged (and imported, even if its new username is held: only that change waits); a new
 * user whose username another D1 user holds is kept out (username_taken), else inserted, with an
 * email_taken conflict if a new-app user has its email; an id a new-app row holds is refused.
 */
export async function checkUsers(state: ScanState, rows: Decoded<UserRow>): Promise<void> {
  const db = state.env.DB;
  const { incoming, merges, heldIds, takenBy, emailHolder: emailHolderOf } = await readUserBatch(db, rows, state.renames);

  const { tally, counts } = state;
  for (const { line, row, remote } of incoming) {
    const merge = merges.get(row.id);
    if (!merge && heldIds.has(row.id)) {
      tally.note("users", line, "id_held", `id ${row.id} is held by a row created in the new app`);
      continue;
    }
    const username = String(merge ? merge.values.username : remote.username);
    const holder = takenBy(username, row.id);
    if (holder) {
      const by = `user ${holder.id} (${holder.legacy_id === null ? "created on the new app" : "imported from legacy"})`;
      tally.note("users", line, "username_taken", `legacy user ${row.id}: username '${username}' is held by ${by}; ${merge ? "its username change would not be applied" : "not imported"}`);
    }
    if (merge) {
      counts.users.wouldImport++;
      notedMerge(state, "users", line, merge);
      continue;
    }
    if (holder) {
      state.blockedUsers.add(row.id);
      continue;
    }
    counts.users.wouldImport++;
    state.newUsers.add(row.id);
    const emailHolder = emailHolderOf(row.email);
    if (emailHolder) {
      tally.note("users", line, "email_taken", `legacy user ${row.id}: email '${row.email}' is held by new-app user ${emailHolder.id} ('${emailHolder.username}'); imported anyway`);
    }
  }
}
