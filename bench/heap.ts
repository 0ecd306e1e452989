// The Worker's own memory under `wrangler dev`, read through its V8 inspector (Runtime.getHeapUsage):
// the isolate that runs the Worker and its Durable Objects, without the local R2/D1 simulators that
// the workerd process's RSS also holds. Counted: the JS heap in use (garbage not yet collected
// included), the embedder's heap, and ArrayBuffer backing stores (the bytes of buffered bodies).
import { connectInspector } from "./inspector.ts";

export interface HeapSampler {
  /** Starts a phase: its peak is measured from now, above the heap used now. */
  phase(): Promise<{ end(): Promise<HeapPhase> }>;
  close(): void;
}

export interface HeapPhase {
  /** Live memory when the phase started (after a collection), MiB. */
  beforeMiB: number;
  /** The most seen in any sample, garbage not yet collected included, MiB. */
  peakMiB: number;
  /** The most seen right after a forced collection (one every LIVE_EVERY_MS): what the phase holds, MiB. */
  livePeakMiB: number;
  /** Samples taken (one per SAMPLE_MS while the phase ran). */
  samples: number;
}

/** Runtime.getHeapUsage's answer (bytes). */
interface HeapUsage {
  usedSize: number;
  embedderHeapUsedSize?: number;
  backingStorageSize?: number;
}

const SAMPLE_MS = 20;
const LIVE_EVERY_MS = 250;

/** Starts `wrangler dev` so that gc() exists in the Worker: set before startWranglerDev (miniflare passes it to workerd). */
export const EXPOSE_GC_ENV = { MINIFLARE_WORKERD_V8_FLAGS: "--expose-gc" };
const MiB = 1024 * 1024;
const round = (n: number) => Math.round(n * 10) / 10;

export async function heapSampler(inspectorPort: number): Promise<HeapSampler> {
  const inspector = await connectInspector(inspectorPort);
  const used = async () => {
    const usage = await inspector.call<HeapUsage>("Runtime.getHeapUsage");
    return usage.usedSize + (usage.embedderHeapUsedSize ?? 0) + (usage.backingStorageSize ?? 0);
  };
  /** Memory right after a full collection (gc(), which EXPOSE_GC_ENV makes exist). */
  const live = async () => {
    const answer = await inspector.call<{ result: { value?: string } }>("Runtime.evaluate", { contextId: inspector.contextId(), expression: "typeof gc === 'function' ? (gc(), 'collected') : 'no gc'" });
    if (answer.result.value !== "collected") throw new Error("gc() is missing in the Worker: start wrangler dev with EXPOSE_GC_ENV");
    return used();
  };

  return {
    async phase() {
      const before = await live();
      let peak = before;
      let livePeak = before;
      let samples = 0;
      let running = true;
      const loop = (async () => {
        let lastLive = Date.now();
        while (running) {
          peak = Math.max(peak, await used());
          if (Date.now() - lastLive >= LIVE_EVERY_MS) {
            livePeak = Math.max(livePeak, await live());
            lastLive = Date.now();
          }
          samples++;
          await new Promise((r) => setTimeout(r, SAMPLE_MS));
        }
      })();
      return {
        async end() {
          running = false;
          await loop;
          return { beforeMiB: round(before / MiB), peakMiB: round(peak / MiB), livePeakMiB: round(livePeak / MiB), samples };
        },
      };
    },
    close: () => inspector.close(),
  };
}
