import type { CutoverState } from "../cutover/state";

/**
 * The cutover state as the coordinator hands it to its relays: `epoch` names the coordinator's
 * storage (a fresh one after its storage is wiped), so that a relay takes its versions afresh
 * instead of refusing them as older than what it holds.
 */
export interface RelaySnapshot {
  epoch: string;
  state: CutoverState;
}

/** Whether a relay holding `held` should take `offered`: a newer version, or another epoch. */
export function supersedes(offered: RelaySnapshot, held: RelaySnapshot | null): boolean {
  return held === null || offered.epoch !== held.epoch || offered.state.version > held.state.version;
}
