import { idChunks } from "../lib/d1";
import type { KnownCopy } from "./copy-file";

/**
 * What D1 `files` records (size and checksum) for the given file ids, any number of them (queried in
 * slices D1 accepts). The consumer uses it to skip rewriting identical objects; the coordinator, to
 * check each copied item against its row before a job completes.
 */
export async function existingFileChecksums(db: D1Database, ids: readonly string[]): Promise<Map<string, KnownCopy>> {
  const found = new Map<string, KnownCopy>();
  for (const chunk of idChunks(ids)) {
    const rows = await db
      .prepare(`SELECT id, size, checksum FROM files WHERE id IN (${chunk.map(() => "?").join(", ")})`)
      .bind(...chunk)
      .all<{ id: string; size: number; checksum: string }>();
    for (const r of rows.results) found.set(r.id, { size: r.size, checksum: r.checksum });
  }
  return found;
}
