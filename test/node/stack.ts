import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_LEGACY_JWT_SECRET } from "../config.ts";
import { generateCorpus, type Corpus } from "../legacy-origin/corpus.ts";
import { startLegacyOrigin, type LegacyOrigin } from "../legacy-origin/server.ts";
import { startWranglerDev, type DevWorker } from "../../scripts/wrangler-dev.ts";

export const STACK_ADMIN_TOKEN = "node-test-admin-token";

export interface Stack {
  origin: LegacyOrigin;
  worker: DevWorker;
  /** The legacy corpus the origin serves (users, files, filters; see corpus.ts). */
  corpus: Corpus;
  /** The directory playing the legacy MEDIA_ROOT (`corpus.mediaRoot`): each file at its `relativePath`. */
  mediaDir: string;
  /** PATCH /admin/cutover; throws unless 200. */
  patchCutover(body: unknown): Promise<void>;
  stop(): Promise<void>;
}

/** A small legacy origin on 127.0.0.1 and the Worker under `wrangler dev` in front of it. */
export async function startStack(port: number, vars: Record<string, string> = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), "node-stack-"));
  const corpus = generateCorpus({ diskRoot: dir, mediaRoot: "/app/media", users: 2, files: 2, maxFileSize: 64 * 1024 });
  // The origin signs tokens with the Django SECRET_KEY the Worker knows as LEGACY_JWT_SECRET.
  const legacySecret = vars.LEGACY_JWT_SECRET ?? TEST_LEGACY_JWT_SECRET;
  const origin = await startLegacyOrigin(corpus, dir, 0, { secretKey: legacySecret });
  let worker: DevWorker;
  try {
    worker = await startWranglerDev(port, { LEGACY_ORIGIN: origin.url, ADMIN_TOKEN: STACK_ADMIN_TOKEN, JWT_SECRET: "node-test-jwt", LEGACY_JWT_SECRET: legacySecret, ...vars });
  } catch (e) {
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    origin,
    worker,
    corpus,
    mediaDir: dir,
    async patchCutover(body) {
      const res = await fetch(`${worker.url}/admin/cutover`, { method: "PATCH", headers: { authorization: `Bearer ${STACK_ADMIN_TOKEN}`, "content-type": "application/json" }, body: JSON.stringify(body) });
      if (res.status !== 200) throw new Error(`PATCH /admin/cutover: ${res.status} ${await res.text()}`);
    },
    async stop() {
      await worker.stop();
      await origin.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
