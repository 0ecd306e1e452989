// The Worker's own memory under `wrangler dev`, read through its V8 inspector (Runtime.getHeapUsage):
// the isolate that runs the Worker and its Durable Objects, without the local R2/D1 simulators that
// the workerd process's RSS also holds. Counted: the JS heap in use (garbage not yet collected
// included), the embedder's heap, and ArrayBuffer backing stores (the bytes of buffered bodies).

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
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  // The inspector proxy wants an Origin from a client that sends a User-Agent (Node's WebSocket does).
  const ws: WebSocket = new (WebSocket as unknown as new (url: string, init: unknown) => WebSocket)(targets[0]!.webSocketDebuggerUrl, { headers: { origin: "http://localhost" } });
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", () => reject(new Error("the Worker's inspector refused the connection")), { once: true });
  });
  let next = 0;
  let contextId: number | null = null;
  const waiting = new Map<number, (message: { result?: unknown; error?: { message: string } }) => void>();
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; method?: string; params?: { context?: { id: number } }; result?: unknown; error?: { message: string } };
    if (message.method === "Runtime.executionContextCreated") contextId = message.params!.context!.id;
    if (message.id !== undefined) {
      waiting.get(message.id)?.(message);
      waiting.delete(message.id);
    }
  });
  const call = <T>(method: string, params: object = {}) =>
    new Promise<T>((resolve, reject) => {
      const id = ++next;
      const timer = setTimeout(() => reject(new Error(`${method} timed out`)), 10_000);
      waiting.set(id, (message) => {
        clearTimeout(timer);
        if (message.error) reject(new Error(`${method}: ${message.error.message}`));
        else resolve(message.result as T);
      });
      ws.send(JSON.stringify({ id, method, params }));
    });
  const used = async () => {
    const usage = await call<HeapUsage>("Runtime.getHeapUsage");
    return usage.usedSize + (usage.embedderHeapUsedSize ?? 0) + (usage.backingStorageSize ?? 0);
  };
  /** Memory right after a full collection (gc(), which EXPOSE_GC_ENV makes exist). */
  const live = async () => {
    const answer = await call<{ result: { value?: string } }>("Runtime.evaluate", { contextId, expression: "typeof gc === 'function' ? (gc(), 'collected') : 'no gc'" });
    if (answer.result.value !== "collected") throw new Error("gc() is missing in the Worker: start wrangler dev with EXPOSE_GC_ENV");
    return used();
  };
  await call("Runtime.enable");
  for (let waited = 0; contextId === null && waited < 5_000; waited += 50) await new Promise((r) => setTimeout(r, 50));

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
    close: () => ws.close(),
  };
}
