import { createHash } from "node:crypto";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { CorpusFile } from "../test/legacy-origin/corpus.ts";

export interface CopyMeasure {
  files: number;
  bytes: number;
  seconds: number;
  filesPerSecond: number;
  mibPerSecond: number;
  verified: number;
}

/** A copy run's rates, from what it moved and how long it took. */
export function copyMeasure(files: number, bytes: number, seconds: number, verified: number): CopyMeasure {
  return { files, bytes, seconds, filesPerSecond: files / seconds, mibPerSecond: bytes / 1024 / 1024 / seconds, verified };
}

/** The baseline: a plain Node loop, `concurrency` in flight: fetch → SHA-256 → file on disk, each checked. */
export async function nodeBaseline(originUrl: string, files: CorpusFile[], concurrency: number): Promise<CopyMeasure> {
  const dir = mkdtempSync(join(tmpdir(), "bench-baseline-"));
  let next = 0;
  let bytes = 0;
  let verified = 0;
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < files.length) {
          const file = files[next++]!;
          const res = await fetch(`${originUrl}/media/${file.relativePath}`);
          if (!res.ok || !res.body) throw new Error(`${file.relativePath}: HTTP ${res.status}`);
          const hash = createHash("sha256");
          let size = 0;
          const tap = new Transform({
            transform(chunk: Buffer, _encoding, callback) {
              hash.update(chunk);
              size += chunk.length;
              callback(null, chunk);
            },
          });
          await pipeline(Readable.fromWeb(res.body as never), tap, createWriteStream(join(dir, `${file.id}.csv`)));
          bytes += size;
          if (hash.digest("hex") === file.sha256 && size === file.size) verified++;
        }
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return copyMeasure(files.length, bytes, (performance.now() - started) / 1000, verified);
}
