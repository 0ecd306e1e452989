/**
 * Versioned SQLite schema migrations for a Durable Object class: one ordered list per class, and
 * the version an object has reached stored in its own database, so each migration runs once.
 */
export interface Migration {
  /** Its place in the list, from 1. Never change a migration once deployed: append a new one. */
  version: number;
  description: string;
  /** One or more statements. Write them to be harmless on a database that already has their effect. */
  sql: string;
}

const VERSION_TABLE = "_schema_version";

/**
 * Runs, in order, every migration above the stored version, each in one transaction with its
 * version. Returns the version reached. Call it inside `ctx.blockConcurrencyWhile` in the
 * constructor, so that nothing reads the storage before it is done. A stored version above the
 * list (storage migrated by a newer deploy) runs nothing.
 */
export function runMigrations(storage: DurableObjectStorage, migrations: readonly Migration[]): number {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${i + 1} (${m.description}) is numbered ${m.version}`);
  });
  const { sql } = storage;
  sql.exec(`CREATE TABLE IF NOT EXISTS ${VERSION_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)`);
  let version = schemaVersion(storage);
  for (const migration of migrations.slice(version)) {
    storage.transactionSync(() => {
      sql.exec(migration.sql);
      sql.exec(`INSERT INTO ${VERSION_TABLE} (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version`, migration.version);
    });
    version = migration.version;
  }
  return version;
}

/** The schema version the object's storage is at (0: never migrated, or emptied by deleteAll()). */
export function schemaVersion(storage: DurableObjectStorage): number {
  const exists = storage.sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`, VERSION_TABLE).toArray().length > 0;
  if (!exists) return 0;
  return storage.sql.exec<{ version: number }>(`SELECT version FROM ${VERSION_TABLE} WHERE id = 1`).toArray()[0]?.version ?? 0;
}
