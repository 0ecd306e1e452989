import type { CorpusFile } from "../test/legacy-origin/corpus.ts";
import { startWranglerDev } from "../scripts/wrangler-dev.ts";
import { copyMeasure, type CopyMeasure } from "./baseline.ts";

export interface FloorMeasures {
  /** workerd fetching every file and reading it to the end. */
  fetchOnly: CopyMeasure;
  /** workerd fetching every file straight into local R2. */
  fetchToR2: CopyMeasure;
}

/**
 * The platform floor, measured under the same `wrangler dev` as the engine: a bare Worker
 * (bench/floor/worker.ts) that only fetches the corpus, then only fetches it into R2, with the same
 * concurrency. The engine does all of that and more on the same workerd thread.
 */
export async function platformFloor(port: number, originUrl: string, files: CorpusFile[], concurrency: number): Promise<FloorMeasures>;
/** Only fetch → R2, in a Worker (and local R2) of its own. */
export async function platformFloor(port: number, originUrl: string, files: CorpusFile[], concurrency: number, only: "fetchToR2"): Promise<Pick<FloorMeasures, "fetchToR2">>;
export async function platformFloor(port: number, originUrl: string, files: CorpusFile[], concurrency: number, only?: "fetchToR2"): Promise<Partial<FloorMeasures>> {
  const worker = await startWranglerDev(port, {}, { config: "bench/floor/wrangler.toml", localTracing: false });
  try {
    const run = async (store: boolean): Promise<CopyMeasure> => {
      const res = await fetch(`${worker.url}/run`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ origin: originUrl, paths: files.map((f) => `/media/${f.relativePath}`), concurrency, store }),
      });
      if (!res.ok) throw new Error(`floor run: ${res.status} ${await res.text()}`);
      const { bytes, ms } = (await res.json()) as { bytes: number; ms: number };
      const expected = files.reduce((n, f) => n + f.size, 0);
      return copyMeasure(files.length, bytes, ms / 1000, bytes === expected ? files.length : 0);
    };
    if (only) return { fetchToR2: await run(true) };
    return { fetchOnly: await run(false), fetchToR2: await run(true) };
  } finally {
    await worker.stop();
  }
}
