import { createdByNewApp } from "../lib/d1";
import { bucketOf } from "./bucket";
import type { StickyIdentity } from "./identity";
import type { Backend } from "./metrics-model";
import type { CutoverState } from "./state";

type Who = Pick<StickyIdentity, "userId" | "ip" | "hash"> & Partial<Pick<StickyIdentity, "unknownUser">>;
type SplitState = Pick<CutoverState, "percent" | "allowlist"> & Partial<Pick<CutoverState, "phase" | "holdBack">>;

/**
 * Which backend serves a request, one side per user:
 * - once the cutover is complete, the new app (legacy may be gone);
 * - a user the new app created (ids above FIRST_NEW_ID) exists only there: the new app (after a
 *   rollback, only until a reverse sync has taken them to legacy);
 * - a login for a username the new app does not hold: legacy, the only side that can know it;
 * - a user: their allowlist entry (new wins over legacy), else their bucket (user id hash);
 * - anyone else: an IP allowlist entry, else the bucket of their cookie or address.
 * A bucket goes to the new app while bucket < percent × 100, so raising the percentage only moves
 * users from legacy to new. The gate then sends a legacy user the new app does not hold yet (not
 * imported) to legacy (see Gate). IP lists apply to anonymous requests only: a user's side does not
 * change with their address.
 */
export function chooseBackend(state: SplitState, who: Who): Backend {
  if (state.phase === "complete") return "workers";
  const threshold = Math.round(state.percent * 100);
  if (who.userId !== null) {
    // Legacy has never heard of them, unless a reverse sync took them there after a rollback (the
    // gate then keeps those whose writes legacy lacks on the new app).
    if (createdByNewApp(who.userId) && !state.holdBack) return "workers";
    if (state.allowlist.new.users.includes(who.userId)) return "workers";
    if (state.allowlist.legacy.users.includes(who.userId)) return "legacy";
    return bucketOf(who.hash) < threshold ? "workers" : "legacy";
  }
  if (who.unknownUser) return "legacy";
  if (who.ip !== null && state.allowlist.new.ips.includes(who.ip)) return "workers";
  if (who.ip !== null && state.allowlist.legacy.ips.includes(who.ip)) return "legacy";
  return bucketOf(who.hash) < threshold ? "workers" : "legacy";
}
