import { z } from "zod";

interface Env {
  FILES: R2Bucket;
}

const runShape = z.object({
  origin: z.url(),
  paths: z.array(z.string().startsWith("/")).max(10_000),
  concurrency: z.number().int().min(1).max(64),
  store: z.boolean(),
});

const SMALL_BODY_BYTES = 256 * 1024;

/**
 * POST /run {origin, paths, concurrency, store}: fetches every path from the origin with
 * `concurrency` in flight and reads each body to its end (store: false) or puts it in R2 as it
 * streams (store: true). No hashing, no D1, no queue, no coordinator.
 */
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/health") return new Response("ok");
    if (pathname !== "/run" || request.method !== "POST") return new Response("not found", { status: 404 });
    const parsed = runShape.safeParse(await request.json().catch(() => null));
    if (!parsed.success) return Response.json({ error: parsed.error.issues }, { status: 400 });
    const { origin, paths, concurrency, store } = parsed.data;
    const started = Date.now();
    let next = 0;
    let bytes = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < paths.length) {
          const index = next++;
          const response = await fetch(new URL(paths[index]!, origin));
          if (!response.ok || !response.body) throw new Error(`${paths[index]}: HTTP ${response.status}`);
          if (store) {
            // The cheapest put for each size: a small body whole, a large one as a stream.
            const length = Number(response.headers.get("content-length") ?? Infinity);
            const object = await env.FILES.put(`floor/${index}`, length <= SMALL_BODY_BYTES ? await response.arrayBuffer() : response.body);
            bytes += object?.size ?? 0;
          } else {
            for await (const chunk of response.body) bytes += chunk.byteLength;
          }
        }
      }),
    );
    return Response.json({ files: paths.length, bytes, ms: Date.now() - started });
  },
};
