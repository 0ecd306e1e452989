import type { Env } from "../env";
import { coordinator, COORDINATOR_NAME } from "../env";
import type { BackendSample } from "../cutover/metrics-model";
import type { CutoverState } from "../cutover/state";
import { relay, relayShards } from "./shards";

/** Where one isolate's gate reads the cutover state and sends its request metrics. */
export interface ControlPlane {
  readState(): Promise<CutoverState>;
  sendMetrics(batch: BackendSample[]): Promise<void>;
}

/**
 * The control plane as an isolate sees it: one relay shard, picked at random once per isolate, so
 * that isolates spread evenly over the shards; without relays (CUTOVER_RELAY_SHARDS=0), the
 * coordinator itself. A relay that fails is passed over for that call: the gate then asks the
 * coordinator, which is still the one source of truth.
 */
export function controlPlane(env: Env, shard = randomShard(env)): ControlPlane {
  // Stubs are made per call: a stub is an I/O object of the request that made it, and this plane serves many.
  const direct = () => coordinator(env);
  if (shard === null) return { readState: () => direct().getCutover(), sendMetrics: (batch) => direct().recordMetrics(batch) };
  const via = () => relay(env, shard, COORDINATOR_NAME);
  return {
    readState: () =>
      via()
        .getCutover()
        .catch((e: unknown) => {
          console.error(`relay ${shard} could not be read; asking the coordinator:`, e);
          return direct().getCutover();
        }),
    sendMetrics: (batch) =>
      via()
        .recordMetrics(batch)
        .catch((e: unknown) => {
          console.error(`relay ${shard} refused a metrics batch; sending it to the coordinator:`, e);
          return direct().recordMetrics(batch);
        }),
  };
}

function randomShard(env: Env): number | null {
  const shards = relayShards(env);
  return shards === 0 ? null : Math.floor(Math.random() * shards);
}
