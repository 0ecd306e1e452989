import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { generateCorpus } from "./legacy-origin/corpus.ts";
import { startDecoy } from "./legacy-origin/decoy.ts";
import { startLegacyOrigin } from "./legacy-origin/server.ts";
import { startAlertReceiver } from "./alerts/receiver.ts";
import { TEST_MAX_FILE_SIZE, TEST_MEDIA_ROOT } from "./config.ts";

/** Starts the fixture legacy origin on 127.0.0.1 for the whole run. */
export default async function setup(project: TestProject) {
  const diskRoot = mkdtempSync(join(tmpdir(), "legacy-media-"));
  const corpus = generateCorpus({ diskRoot, mediaRoot: TEST_MEDIA_ROOT, users: 8, files: 24, maxFileSize: TEST_MAX_FILE_SIZE });
  const origin = await startLegacyOrigin(corpus, diskRoot);
  const decoy = await startDecoy();
  const receiver = await startAlertReceiver();
  project.provide("legacyOrigin", origin.url);
  project.provide("alertReceiver", receiver.url);
  project.provide("decoyOrigin", decoy.url);
  return async () => {
    await origin.close();
    await decoy.close();
    await receiver.close();
    rmSync(diskRoot, { recursive: true, force: true });
  };
}
