import { bucketOf, type StickyIdentity } from "./bucket";
import type { Backend } from "./metrics-model";
import type { CutoverState } from "./state";

/**
 * Which backend serves a request: an allowlist entry (new wins over legacy) forces a side;
 * otherwise bucket < percent × 100 goes to the new app. Raising the percentage therefore only ever
 * moves buckets from legacy to new.
 */
export function chooseBackend(state: Pick<CutoverState, "percent" | "allowlist">, who: Pick<StickyIdentity, "userId" | "ip" | "hash">): Backend {
  const listed = (list: { users: number[]; ips: string[] }) => (who.userId !== null && list.users.includes(who.userId)) || (who.ip !== null && list.ips.includes(who.ip));
  if (listed(state.allowlist.new)) return "workers";
  if (listed(state.allowlist.legacy)) return "legacy";
  return bucketOf(who.hash) < Math.round(state.percent * 100) ? "workers" : "legacy";
}
