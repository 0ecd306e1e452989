/** D1 `files` size and checksum for the given ids (at most 90 per call, within the bound-parameter limit). */
export async function existingFileChecksums(db: D1Database, ids: readonly string[]): Promise<Map<string, { size: number; checksum: string }>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .prepare(`SELECT id, size, checksum FROM files WHERE id IN (${ids.map(() => "?").join(", ")})`)
    .bind(...ids)
    .all<{ id: string; size: number; checksum: string }>();
  return new Map(rows.results.map((r) => [r.id, { size: r.size, checksum: r.checksum }]));
}
