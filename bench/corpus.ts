import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { djangoHash, type Corpus, type CorpusFile } from "../test/legacy-origin/corpus.ts";

const MEDIA_ROOT = "/app/media";

/** A deterministic CSV body of exactly `bytes` bytes (rows repeated, the last one padded). */
function csvOfSize(bytes: number, seed: number): Buffer {
  const header = "id,name,city,amount,joined,notes\n";
  const rows: string[] = [];
  for (let i = 0; i < 200; i++) rows.push(`${seed * 1000 + i},Person ${i},City ${(seed + i) % 97},${((seed * 31 + i * 17) % 100000) / 100},2024-0${1 + (i % 9)}-1${i % 10},note ${seed}-${i}\n`);
  const block = Buffer.from(rows.join(""));
  const out = Buffer.alloc(bytes);
  let at = out.write(header);
  while (at + block.length <= bytes) at += block.copy(out, at);
  // Fill the rest with one padded row, ending in a newline.
  if (at < bytes) {
    const tail = `${seed},pad,,0,,`.padEnd(bytes - at - 1, "x") + "\n";
    out.write(tail.slice(0, bytes - at), at);
  }
  return out;
}

export interface BenchCorpusSpec {
  small: number;
  smallMin: number;
  smallMax: number;
  large: number;
  largeBytes: number;
  users: number;
}

export const COPY_BENCH: BenchCorpusSpec = { small: 2_000, smallMin: 10 * 1024, smallMax: 30 * 1024, large: 10, largeBytes: 20 * 1024 * 1024, users: 50 };

/** Writes the benchmark corpus under `diskRoot`; returns it in the fixture origin's shape. */
export function generateBenchCorpus(diskRoot: string, spec: BenchCorpusSpec = COPY_BENCH): Corpus {
  mkdirSync(join(diskRoot, "uploads"), { recursive: true });
  const users = Array.from({ length: spec.users }, (_, i) => ({
    id: i + 1,
    username: `bench${i + 1}`,
    email: `bench${i + 1}@example.com`,
    password: `pw-${i + 1}`,
    passwordHash: djangoHash(`pw-${i + 1}`, `salt${i + 1}`, 1_000),
  }));
  const files: CorpusFile[] = [];
  const total = spec.small + spec.large;
  for (let i = 0; i < total; i++) {
    const large = i >= spec.small;
    const size = large ? spec.largeBytes : spec.smallMin + ((i * 7919) % (spec.smallMax - spec.smallMin + 1));
    const body = csvOfSize(size, i);
    const id = i + 1;
    const fileId = `00000000-0000-4000-a000-${String(id).padStart(12, "0")}`;
    const relativePath = `uploads/bench_${id}.csv`;
    writeFileSync(join(diskRoot, relativePath), body);
    files.push({
      id,
      userId: users[i % users.length]!.id,
      fileId,
      fileName: `bench_${id}.csv`,
      filePath: `${MEDIA_ROOT}/${relativePath}`,
      relativePath,
      size,
      sha256: createHash("sha256").update(body).digest("hex"),
      rows: 0,
      columns: [],
      oversize: false,
    });
  }
  return { mediaRoot: MEDIA_ROOT, users, files, filters: [] };
}
