import { createHash } from "node:crypto";
import http from "node:http";

export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  /** Latencies (ms) by the X-Served-By of the response. */
  byBackend: Record<string, number[]>;
}

/**
 * Closed-loop load: `concurrency` keep-alive clients, each sending its next request as soon as the
 * last one is answered, for `durationMs`. Request i carries the sticky cookie of user i mod users.
 */
export async function runLoad(url: string, concurrency: number, durationMs: number, users: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const byBackend: Record<string, number[]> = {};
  let requests = 0;
  let errors = 0;
  let next = 0;
  const cookies = Array.from({ length: users }, (_, u) => `lc_bucket=${createHash("sha256").update(`user-${u}`).digest("hex").slice(0, 8)}`);
  const started = performance.now();
  const end = started + durationMs;
  const one = (user: number) =>
    new Promise<void>((resolve) => {
      const t0 = performance.now();
      const cookie = cookies[user]!;
      const req = http.get(url, { agent, headers: { cookie, accept: "application/json" } }, (res) => {
        res.resume();
        res.on("end", () => {
          const backend = String(res.headers["x-served-by"] ?? "none");
          (byBackend[backend] ??= []).push(performance.now() - t0);
          if ((res.statusCode ?? 0) >= 500) errors++;
          requests++;
          resolve();
        });
      });
      req.on("error", () => {
        errors++;
        resolve();
      });
    });
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) await one(next++ % users);
    }),
  );
  agent.destroy();
  return { requests, errors, seconds: (performance.now() - started) / 1000, byBackend };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}
