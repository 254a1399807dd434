import type pg from 'pg';

/** The kit's own bookkeeping lives apart from the application's tables and leapfrog's ledger. */
export const KIT_SCHEMA = 'leapfrog_kit';

export interface AppliedMigration {
  id: string;
  checksum: string;
}

export async function ensureHistoryTable(client: pg.ClientBase): Promise<void> {
  await client.query(`
    CREATE SCHEMA IF NOT EXISTS ${KIT_SCHEMA};
    CREATE TABLE IF NOT EXISTS ${KIT_SCHEMA}.schema_migrations (
      id          text PRIMARY KEY,
      release     text        NOT NULL,
      checksum    text        NOT NULL,
      applied_at  timestamptz NOT NULL DEFAULT now(),
      duration_ms integer     NOT NULL
    )`);
}

/** Applied migrations in the order they were applied; empty when the kit never ran here. */
export async function readHistory(client: pg.ClientBase): Promise<AppliedMigration[]> {
  const exists = await client.query<{ t: string | null }>(
    `SELECT to_regclass('${KIT_SCHEMA}.schema_migrations')::text AS t`,
  );
  if (exists.rows[0]?.t == null) return [];
  const result = await client.query<AppliedMigration>(
    `SELECT id, checksum FROM ${KIT_SCHEMA}.schema_migrations ORDER BY applied_at, id`,
  );
  return result.rows;
}

export async function recordApplied(
  client: pg.ClientBase,
  migration: { id: string; release: string; checksum: string },
  durationMs: number,
): Promise<void> {
  await client.query(
    `INSERT INTO ${KIT_SCHEMA}.schema_migrations (id, release, checksum, duration_ms) VALUES ($1, $2, $3, $4)`,
    [migration.id, migration.release, migration.checksum, Math.round(durationMs)],
  );
}
