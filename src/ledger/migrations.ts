import type pg from 'pg';
import { BadInputError } from '../errors/index.js';

/**
 * The ledger's own forward-only migrations. Append only: never edit or reorder an entry that has
 * shipped, because databases in the field have recorded it as applied.
 */
export interface LedgerMigration {
  id: number;
  name: string;
  sql: (schema: string) => string;
}

export const ledgerMigrations: readonly LedgerMigration[] = [
  {
    id: 1,
    name: 'state, runs, phases, backups',
    sql: (s) => `
      CREATE TABLE "${s}".state (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        release text NOT NULL,
        version text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE "${s}".runs (
        id uuid PRIMARY KEY,
        plan_digest text NOT NULL,
        from_release text NOT NULL,
        from_version text NOT NULL,
        to_release text NOT NULL,
        to_version text NOT NULL,
        mode text NOT NULL CHECK (mode IN ('step', 'apply')),
        host text NOT NULL,
        pid integer NOT NULL,
        status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      );
      CREATE TABLE "${s}".phases (
        id bigserial PRIMARY KEY,
        run_id uuid NOT NULL REFERENCES "${s}".runs (id),
        plan_digest text NOT NULL,
        from_release text NOT NULL,
        release text NOT NULL,
        phase text NOT NULL CHECK (phase IN ('preflight', 'schema', 'data', 'check')),
        name text NOT NULL,
        status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
        attempts integer NOT NULL DEFAULT 0,
        exit_code integer,
        output_tail text NOT NULL DEFAULT '',
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        duration_ms bigint,
        rows_migrated bigint,
        details jsonb,
        UNIQUE (from_release, release, phase, name)
      );
      CREATE TABLE "${s}".backups (
        id uuid PRIMARY KEY,
        release text NOT NULL,
        version text NOT NULL,
        path text NOT NULL,
        format text NOT NULL,
        bytes bigint NOT NULL,
        sha256 text NOT NULL,
        duration_ms bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        run_id uuid REFERENCES "${s}".runs (id)
      );
    `,
  },
  {
    id: 2,
    name: 'database identity; backups record it',
    // A backup belongs to one database (docs/restore.md). The id is written once, when the
    // ledger is created, and travels with every dump of the database (the ledger is inside it).
    // md5 of random bytes rather than gen_random_uuid(): that is core only from PostgreSQL 13.
    // Existing backup rows are this database's own (they are in its ledger), so they get its id.
    sql: (s) => `
      CREATE TABLE "${s}".identity (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        database_id uuid NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      INSERT INTO "${s}".identity (database_id)
        VALUES (md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text)::uuid);
      ALTER TABLE "${s}".backups
        ADD COLUMN database_id uuid,
        ADD COLUMN system_identifier text,
        ADD COLUMN database_name text;
      UPDATE "${s}".backups SET database_id = (SELECT database_id FROM "${s}".identity);
    `,
  },
];

/** A transaction-level advisory lock key: two processes creating the ledger at once serialise. */
const MIGRATION_LOCK = 0x4c46_0001;

/**
 * Brings the ledger schema up to date inside one transaction. Safe under concurrency: the
 * transaction-level advisory lock makes a second process wait, then see the work as done.
 */
export async function migrateLedger(client: pg.ClientBase, schema: string): Promise<number[]> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(`
      CREATE TABLE IF NOT EXISTS "${schema}".ledger_migrations (
        id integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const done = new Set(
      (await client.query<{ id: number }>(`SELECT id FROM "${schema}".ledger_migrations`)).rows.map((r) => r.id),
    );
    const known = Math.max(...ledgerMigrations.map((m) => m.id));
    const newest = Math.max(0, ...done);
    if (newest > known) {
      throw new BadInputError(
        `the ledger in schema "${schema}" was written by a newer leapfrog (ledger migration ${newest}; this one knows up to ${known})`,
        { hint: 'run the leapfrog version that upgraded this database (or newer); ledger migrations are forward-only' },
      );
    }
    const applied: number[] = [];
    for (const migration of ledgerMigrations) {
      if (done.has(migration.id)) continue;
      await client.query(migration.sql(schema));
      await client.query(`INSERT INTO "${schema}".ledger_migrations (id, name) VALUES ($1, $2)`, [migration.id, migration.name]);
      applied.push(migration.id);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** True when the schema has the ledger's migrations table (read-only verbs never create it). */
export async function ledgerExists(client: pg.ClientBase, schema: string): Promise<boolean> {
  const rows = await client.query<{ ok: boolean }>(
    `SELECT to_regclass($1) IS NOT NULL AS ok`,
    [`"${schema}".ledger_migrations`],
  );
  return rows.rows[0]?.ok === true;
}
