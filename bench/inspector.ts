// A connection to the V8 inspector of a Worker under `wrangler dev --inspector-port` (the isolate
// that runs the Worker and its Durable Objects), for the benches that measure the Worker itself.

export interface Inspector {
  call<T>(method: string, params?: object): Promise<T>;
  /** The Worker's execution context (for Runtime.evaluate). */
  contextId(): number | null;
  close(): void;
}

const CALL_TIMEOUT_MS = 30_000;

export async function connectInspector(port: number): Promise<Inspector> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string }[];
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
      const timer = setTimeout(() => reject(new Error(`${method} timed out`)), CALL_TIMEOUT_MS);
      waiting.set(id, (message) => {
        clearTimeout(timer);
        if (message.error) reject(new Error(`${method}: ${message.error.message}`));
        else resolve(message.result as T);
      });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Runtime.enable");
  for (let waited = 0; contextId === null && waited < 5_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  return { call, contextId: () => contextId, close: () => ws.close() };
}

interface ProfileNode {
  callFrame: { functionName: string };
  hitCount?: number;
}

/**
 * CPU time the isolate spent while `during` ran, from a sampling profile (every `intervalUs`): every
 * sample but "(idle)", so JavaScript, garbage collection and the runtime's own work for this isolate,
 * and not the local simulators (R2, D1, queues), which run in isolates of their own.
 */
export async function isolateCpuMs(inspector: Inspector, during: () => Promise<void>, intervalUs = 500): Promise<number> {
  await inspector.call("Profiler.enable");
  await inspector.call("Profiler.setSamplingInterval", { interval: intervalUs });
  await inspector.call("Profiler.start");
  await during();
  const { profile } = await inspector.call<{ profile: { nodes: ProfileNode[] } }>("Profiler.stop");
  const busy = profile.nodes.filter((n) => n.callFrame.functionName !== "(idle)").reduce((sum, n) => sum + (n.hitCount ?? 0), 0);
  return (busy * intervalUs) / 1000;
}
