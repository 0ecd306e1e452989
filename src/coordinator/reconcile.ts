import { idChunks } from "../lib/d1";

/** D1 `files` size and checksum for the given ids (any number: queried in slices D1 accepts). */
export async function existingFileChecksums(db: D1Database, ids: readonly string[]): Promise<Map<string, { size: number; checksum: string }>> {
  const found = new Map<string, { size: number; checksum: string }>();
  for (const chunk of idChunks(ids)) {
    const rows = await db
      .prepare(`SELECT id, size, checksum FROM files WHERE id IN (${chunk.map(() => "?").join(", ")})`)
      .bind(...chunk)
      .all<{ id: string; size: number; checksum: string }>();
    for (const r of rows.results) found.set(r.id, { size: r.size, checksum: r.checksum });
  }
  return found;
}
