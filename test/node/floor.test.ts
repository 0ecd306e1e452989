// The copy benchmark's platform floor (bench/floor.ts): its bare Worker really fetches every file,
// and really puts every one in R2, under wrangler dev.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { startLegacyOrigin } from "../legacy-origin/server.ts";
import { generateBenchCorpus } from "../../bench/corpus.ts";
import { platformFloor } from "../../bench/floor.ts";

test("the platform floor fetches every file, then fetches every one into R2", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "floor-test-"));
  const corpus = generateBenchCorpus(dir, { small: 30, smallMin: 1_000, smallMax: 5_000, large: 1, largeBytes: 600 * 1024, users: 2 });
  const origin = await startLegacyOrigin(corpus, dir);
  try {
    const floor = await platformFloor(8796, origin.url, corpus.files, 4);
    const bytes = corpus.files.reduce((n, f) => n + f.size, 0);
    for (const run of [floor.fetchOnly, floor.fetchToR2]) {
      assert.equal(run.bytes, bytes);
      assert.equal(run.verified, corpus.files.length);
      assert.ok(run.seconds > 0);
    }
    const stats = (await (await fetch(`${origin.url}/__stats`)).json()) as { requests: number; byPath: Record<string, number> };
    assert.equal(stats.requests, 2 * corpus.files.length);
    for (const f of corpus.files) assert.equal(stats.byPath[f.relativePath], 2, f.relativePath);
  } finally {
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
