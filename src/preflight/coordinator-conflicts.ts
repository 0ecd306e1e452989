import { z } from "zod";
import { CONFLICT_STATES } from "../coordinator/model";
import type { coordinator } from "../env";

/** A rename-legacy decision: the legacy user named `legacyUsername` on legacy is imported as `username`. */
export interface Rename {
  legacyUsername: string;
  username: string;
}

export interface KnownConflicts {
  /** By legacy user id, as the user import applies them. */
  renames: Map<number, Rename>;
  /** Conflicts open in the coordinator now (met by earlier jobs; not counted again by the preflight). */
  open: number;
}

const PAGE = 1_000;

/** What the preflight reads of a conflict (the RPC's typing of ConflictView does not survive its `unknown` fields). */
const conflictPage = z.array(z.looseObject({ state: z.enum(CONFLICT_STATES) }));

const renameLegacy = z.object({
  field: z.literal("username"),
  detail: z.object({ legacyUsername: z.string() }),
  resolution: z.object({ action: z.literal("rename-legacy"), username: z.string(), legacyUserId: z.number().int() }),
});

/**
 * The coordinator's conflicts, read through its RPC (listConflicts, in id order): the rename-legacy
 * decisions an import applies (a later one for the same user replaces an earlier, as import_renames
 * does), and how many are open.
 */
export async function knownConflicts(stub: ReturnType<typeof coordinator>): Promise<KnownConflicts> {
  const known: KnownConflicts = { renames: new Map(), open: 0 };
  for (let offset = 0; ; offset += PAGE) {
    const page = conflictPage.parse(await stub.listConflicts(undefined, PAGE, offset));
    for (const conflict of page) {
      if (conflict.state === "open") known.open++;
      const rename = renameLegacy.safeParse(conflict);
      if (rename.success) {
        const { detail, resolution } = rename.data;
        known.renames.set(resolution.legacyUserId, { legacyUsername: detail.legacyUsername, username: resolution.username });
      }
    }
    if (page.length < PAGE) return known;
  }
}
