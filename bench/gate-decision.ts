// Times the gate's per-request decision (sticky identity, split, metrics) in-process, on the
// project's own source bundled with esbuild: far below what loopback HTTP timings can resolve.
import { build } from "esbuild";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;

export async function gateDecisionMicros(requests = 200_000): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "gate-bench-"));
  try {
    const entry = join(dir, "entry.ts");
    const out = join(dir, "entry.mjs");
    await build({
      stdin: {
        contents: `
          export { headerIdentity as stickyIdentity } from "${root}src/cutover/identity";
          export { chooseBackend } from "${root}src/cutover/split";
          export { MetricsBuffer } from "${root}src/cutover/metrics-buffer";
          export { INITIAL_CUTOVER } from "${root}src/cutover/state";`,
        resolveDir: root,
        loader: "ts",
      },
      bundle: true,
      platform: "node",
      format: "esm",
      outfile: out,
      logLevel: "error",
    });
    void entry;
    const { stickyIdentity, chooseBackend, MetricsBuffer, INITIAL_CUTOVER } = await import(out);
    const state = { ...INITIAL_CUTOVER, percent: 50 };
    const pool = Array.from({ length: 1000 }, (_, i) => new Request("https://list-cutter.test/api/list_cutter/list_saved_files/", { headers: { cookie: `lc_bucket=${((i * 2654435761) >>> 0).toString(16).padStart(8, "0")}` } }));
    const metrics = new MetricsBuffer();
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        const who = stickyIdentity(pool[i % pool.length]);
        const backend = chooseBackend(state, who);
        metrics.record({ backend, version: state.version, status: 200, ms: 3, ip: who.ip, stickyHash: who.hash, hasBody: false });
        metrics.takeIfDue();
      }
    };
    run(20_000); // warm-up
    const started = performance.now();
    run(requests);
    return ((performance.now() - started) * 1000) / requests;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
