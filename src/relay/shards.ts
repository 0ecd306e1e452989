import type { Env } from "../env";

/** Relay shards when CUTOVER_RELAY_SHARDS is not set. */
const DEFAULT_SHARDS = 8;
const MAX_SHARDS = 64;

/**
 * How many GateRelay objects stand between the gates and the coordinator (CUTOVER_RELAY_SHARDS);
 * 0 sends every gate to the coordinator itself (the control-plane bench's comparison).
 */
export function relayShards(env: Env): number {
  const raw = env.CUTOVER_RELAY_SHARDS;
  if (raw === undefined || raw === "") return DEFAULT_SHARDS;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 0 ? Math.min(n, MAX_SHARDS) : DEFAULT_SHARDS;
}

/** The relay shard `shard` of the coordinator named `coordinatorName`. */
export function relay(env: Env, shard: number, coordinatorName: string) {
  return env.GATE_RELAY.getByName(`${coordinatorName}/${shard}`);
}
