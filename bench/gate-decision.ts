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
          export { identify } from "${root}src/cutover/identity";
          export { CookieSigner } from "${root}src/cutover/bucket";
          export { UserDirectory } from "${root}src/cutover/user-directory";
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
    const { identify, CookieSigner, UserDirectory, chooseBackend, MetricsBuffer, INITIAL_CUTOVER } = await import(out);
    // Anonymous requests with a bucket cookie (what bench:gate sends): no D1 read and no HMAC on this path.
    const users = new UserDirectory(null as never);
    const signer = new CookieSigner("bench-secret");
    const state = { ...INITIAL_CUTOVER, percent: 50 };
    const pool = Array.from({ length: 1000 }, (_, i) => new Request("https://list-cutter.test/api/list_cutter/list_saved_files/", { headers: { cookie: `lc_bucket=${((i * 2654435761) >>> 0).toString(16).padStart(8, "0")}` } }));
    const metrics = new MetricsBuffer();
    const run = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const { who } = await identify(pool[i % pool.length], users, signer);
        const backend = chooseBackend(state, who);
        metrics.record({ backend, version: state.version, status: 200, ms: 3, ip: who.ip, stickyHash: who.hash, hasBody: false, judged: true });
        metrics.takeIfDue();
      }
    };
    await run(20_000); // warm-up
    const started = performance.now();
    await run(requests);
    return ((performance.now() - started) * 1000) / requests;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
