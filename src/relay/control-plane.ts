import type { Env } from "../env";
import { coordinator, COORDINATOR_NAME } from "../env";
import type { BackendSample } from "../cutover/metrics-model";
import type { CutoverState } from "../cutover/state";
import { withTimeout } from "../lib/timeout";
import { relay, relayShards } from "./shards";

/** Where one isolate's gate reads the cutover state and sends its request metrics. */
export interface ControlPlane {
  readState(): Promise<CutoverState>;
  sendMetrics(batch: BackendSample[]): Promise<void>;
}

/**
 * The control plane as an isolate sees it: one relay shard, picked at random once per isolate, so
 * that isolates spread evenly over the shards; without relays (CUTOVER_RELAY_SHARDS=0), the
 * coordinator itself. A state read from a relay that fails or is slow goes to the coordinator, which
 * is still the one source of truth; a metrics batch stays with the gate until its relay takes it.
 */
export function controlPlane(env: Env, shard = randomShard(env)): ControlPlane {
  // Stubs are made per call: a stub is an I/O object of the request that made it, and this plane serves many.
  const direct = () => coordinator(env);
  if (shard === null) return { readState: () => direct().getCutover(), sendMetrics: (batch) => direct().recordMetrics(batch) };
  const via = () => relay(env, shard, COORDINATOR_NAME);
  return {
    // A relay that fails or is slow is passed over for this read (within the gate cache's own 1 s).
    readState: () =>
      withTimeout(via().getCutover(), RELAY_CALL_TIMEOUT_MS).catch((e: unknown) => {
        console.error(`relay ${shard} could not be read; asking the coordinator:`, e);
        return direct().getCutover();
      }),
    // Not sent to the coordinator on a relay's failure: the relay may have stored it already, and
    // the gate keeps a batch that could not be sent for its next one.
    sendMetrics: (batch) => via().recordMetrics(batch),
  };
}

const RELAY_CALL_TIMEOUT_MS = 400;

function randomShard(env: Env): number | null {
  const shards = relayShards(env);
  return shards === 0 ? null : Math.floor(Math.random() * shards);
}
