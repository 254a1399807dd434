import type pg from 'pg';
import { BadInputError } from '../errors/index.js';
import { nextCommand } from '../util/next-command.js';

/**
 * The ledger's own forward-only migrations. Append only: never edit or reorder an entry that has
 * shipped, because databases in the field have recorded it as applied.
 */
export interface LedgerMigration {
  id: number;
  name: string;
  sql: (schema: string) => string;
  /**
   * The tables this migration creates. Once it is recorded as applied they must exist: a ledger
   * missing one was damaged by hand, and is refused as bad input rather than half-read.
   */
  tables?: readonly string[];
}

export const ledgerMigrations: readonly LedgerMigration[] = [
  {
    id: 1,
    name: 'state, runs, phases, backups',
    tables: ['state', 'runs', 'phases', 'backups'],
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
    tables: ['identity'],
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
  {
    // The fencing token. The advisory lock lives in a session the server can end at any time
    // (pg_terminate_backend, a restart, a timeout); a run that lost it must never write again.
    // Taking the lock bumps `token` and names the session that holds it; every ledger write
    // checks, in its own transaction and under this row's lock, that the token is still its own
    // and that session still holds the advisory lock.
    id: 3,
    name: 'lock fence',
    tables: ['lock_fence'],
    sql: (s) => `
      CREATE TABLE "${s}".lock_fence (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        token bigint NOT NULL,
        holder text NOT NULL,
        lock_backend_pid integer NOT NULL,
        run_id uuid,
        acquired_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    // Episodes. Phase records are keyed by hop, so a database that went A -> B and was then put
    // back at A (`baseline --force`) still holds the hop's records as succeeded, and a resume
    // would skip the whole hop. Setting the release (baseline) starts a new episode; advances
    // keep it, and within one episode the release only moves forward, so each hop is visited at
    // most once. Every phase row records the episode it ran in, and only the current episode's
    // rows count for resuming. (A restore brings back the dump's ledger whole, episode included,
    // so its rows match its data.) An id rather than a comparison of timestamps: exact whatever
    // the server's clock does, and an advance does not hide the hop it ends. Random, not a
    // counter: a state row rebuilt by `baseline --force` must not reuse an id that surviving
    // phase rows carry.
    // Existing rows: the state gets an episode, and the phases started since it was last written
    // (the rows a crashed run left to resume) join it; older ones belong to no episode: they are
    // hops already passed (never asked again) or from before a baseline.
    id: 4,
    name: 'episodes: resume only what the current episode recorded',
    sql: (s) => `
      ALTER TABLE "${s}".state ADD COLUMN episode uuid;
      UPDATE "${s}".state SET episode = md5(random()::text || clock_timestamp()::text || pg_backend_pid()::text)::uuid;
      ALTER TABLE "${s}".phases ADD COLUMN episode uuid;
      UPDATE "${s}".phases AS p SET episode = st.episode FROM "${s}".state AS st WHERE p.started_at >= st.updated_at;
    `,
  },
];

/** A transaction-level advisory lock key: two processes creating the ledger at once serialise. */
const MIGRATION_LOCK = 0x4c46_0001;

export interface MigrateOptions {
  /** `baseline --force`: rebuild a damaged ledger instead of refusing it. */
  repair?: boolean;
}

/**
 * Brings the ledger schema up to date inside one transaction. Safe under concurrency: the
 * transaction-level advisory lock makes a second process wait, then see the work as done.
 */
export async function migrateLedger(
  client: pg.ClientBase,
  schema: string,
  options: MigrateOptions = {},
): Promise<number[]> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    // Before anything is created: a ledger that lost its migrations table would otherwise be
    // taken for a new one and its migrations run again over the tables that are still there.
    const damage = await ledgerDamage(client, schema);
    let aside: string | null = null;
    if (damage !== null && damage.length > 0) {
      if (options.repair !== true) throw await damagedLedgerError(client, schema, damage);
      aside = await rebuildDamagedLedger(client, schema);
    }
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
      await client.query(`INSERT INTO "${schema}".ledger_migrations (id, name) VALUES ($1, $2)`, [
        migration.id,
        migration.name,
      ]);
      applied.push(migration.id);
    }
    if (aside !== null) await copySurvivingRows(client, aside, schema);
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * True when the schema holds a ledger (read-only verbs never create one); refuses a damaged one,
 * so that `status`, `step`/`apply` and `baseline` all stop at the same place with the repair.
 */
export async function ledgerExists(client: pg.ClientBase, schema: string): Promise<boolean> {
  const damage = await ledgerDamage(client, schema);
  if (damage !== null && damage.length > 0) throw await damagedLedgerError(client, schema, damage);
  return damage !== null;
}

/** What a ledger that exists and is whole says, in one round trip (`readIntactLedger`). */
export interface IntactLedgerRead {
  /** The newest ledger migration it recorded. */
  newest: number;
  /** Its state row: all null when it was never baselined. */
  state: { release: string | null; version: string | null; updated_at: Date | null };
}

/**
 * The common case of every run, in one statement: the ledger exists, has every table its recorded
 * migrations created, and says where it is. The three reads `ledgerDamage` and the state read
 * make are one round trip here (and `to_regclass` rather than a planned join over pg_class, which
 * costs a fresh backend several ms). null when the schema or one of the tables the statement
 * reads is missing: the caller then asks `ledgerExists`, which tells "never baselined" from
 * "damaged" exactly as before. A damaged ledger with both tables present is refused here, the same way.
 */
export async function readIntactLedger(client: pg.ClientBase, schema: string): Promise<IntactLedgerRead | null> {
  const known = ledgerMigrations.flatMap((m) => m.tables ?? []);
  let rows: {
    tables: string[];
    done: number[];
    release: string | null;
    version: string | null;
    updated_at: Date | null;
  }[];
  try {
    ({ rows } = await client.query(
      `SELECT ARRAY(SELECT t FROM unnest($1::text[]) AS t
                     WHERE (SELECT relkind FROM pg_class WHERE oid = to_regclass(format('%I.%I', $2::text, t))) IN ('r', 'p')) AS tables,
              ARRAY(SELECT id FROM "${schema}".ledger_migrations) AS done,
              s.release, s.version, s.updated_at
         FROM (SELECT 1) AS one LEFT JOIN "${schema}".state AS s ON true`,
      [known, schema],
    ));
  } catch (error) {
    // 3F000 invalid_schema_name, 42P01 undefined_table: no ledger, or a damaged one.
    const code = (error as { code?: unknown }).code;
    if (code === '3F000' || code === '42P01') return null;
    throw error;
  }
  const row = rows[0];
  if (row === undefined) return null;
  const done = new Set(row.done);
  const missing = missingTables(new Set([...row.tables, 'ledger_migrations']), done);
  if (missing.length > 0) throw await damagedLedgerError(client, schema, missing);
  return { newest: Math.max(0, ...row.done), state: row };
}

/**
 * null when there is no ledger at all; otherwise the tables it should have and does not (empty
 * when intact). A schema with ledger tables but no ledger_migrations lost its migrations table.
 */
export async function ledgerDamage(client: pg.ClientBase, schema: string): Promise<string[] | null> {
  const tables = await existingTables(client, schema);
  if (!tables.has('ledger_migrations')) {
    const known = ledgerMigrations.flatMap((m) => m.tables ?? []);
    return known.some((t) => tables.has(t)) ? ['ledger_migrations'] : null;
  }
  const done = new Set(
    (await client.query<{ id: number }>(`SELECT id FROM "${schema}".ledger_migrations`)).rows.map((r) => r.id),
  );
  return missingTables(tables, done);
}

async function existingTables(client: pg.ClientBase, schema: string): Promise<Set<string>> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`,
    [schema],
  );
  return new Set(rows.map((r) => r.name));
}

function missingTables(tables: ReadonlySet<string>, done: ReadonlySet<number>): string[] {
  return ledgerMigrations
    .filter((m) => done.has(m.id))
    .flatMap((m) => m.tables ?? [])
    .filter((t) => !tables.has(t));
}

/**
 * A damaged ledger is bad input (exit 2), not a bug: name what is missing and both ways out. The
 * recorded release, when the state table survived, makes the baseline command exact.
 */
async function damagedLedgerError(
  client: pg.ClientBase,
  schema: string,
  missing: readonly string[],
): Promise<BadInputError> {
  const foreign = await foreignRelations(client, schema);
  if (foreign.length > 0) return notALedgerError(schema, foreign);
  let release = '<the release the database is at>';
  try {
    const { rows } = await client.query<{ release: string }>(`SELECT release FROM "${schema}".state`);
    if (rows[0] !== undefined) release = rows[0].release;
  } catch {
    // The state table is among what is missing: the operator names the release.
  }
  const tables = missing.map((t) => `"${schema}".${t}`).join(', ');
  return new BadInputError(
    `the leapfrog ledger in schema "${schema}" is damaged: ${missing.length === 1 ? 'table' : 'tables'} ${tables} ${missing.length === 1 ? 'is' : 'are'} missing (dropped by hand?); leapfrog will not read or write it`,
    {
      hint: `rebuild it with \`${nextCommand('baseline', '--release', release, '--force')}\` (keeps what survived, runs that release's check first), or restore the database from its backup (\`${nextCommand('backups')}\` lists them)`,
      details: { schema, missing: [...missing] },
    },
  );
}

/**
 * `baseline --force` on a damaged ledger: the damaged schema is renamed aside (kept, for whoever
 * wants to see what happened), a fresh ledger is created under the original name, and every row
 * of every table that survived with the same columns is copied into it. Runs inside the caller's
 * migration transaction, so it happens whole or not at all.
 */
async function rebuildDamagedLedger(client: pg.ClientBase, schema: string): Promise<string> {
  // Only ever a schema of leapfrog's own tables: moving aside one that holds an application's
  // would take the application's tables out from under it.
  const foreign = await foreignRelations(client, schema);
  if (foreign.length > 0) throw notALedgerError(schema, foreign);
  const stamp = new Date()
    .toISOString()
    .replace(/[^0-9]/g, '')
    .slice(0, 14);
  const aside = `${schema.slice(0, 40)}_damaged_${stamp}`;
  await client.query(`ALTER SCHEMA "${schema}" RENAME TO "${aside}"`);
  return aside;
}

/**
 * Tables, views and other relations in `schema` that no ledger migration creates: a schema that
 * has them is an application's, whatever ledger table names it also has (a `runs` table).
 */
async function foreignRelations(client: pg.ClientBase, schema: string): Promise<string[]> {
  const ours = ['ledger_migrations', ...ledgerMigrations.flatMap((m) => m.tables ?? [])];
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT (c.relname = ANY($2::text[]))
      ORDER BY c.relname`,
    [schema, ours],
  );
  return rows.map((r) => r.name);
}

function notALedgerError(schema: string, foreign: readonly string[]): BadInputError {
  const shown = foreign.slice(0, 5).map((t) => `"${schema}".${t}`);
  const more = foreign.length > shown.length ? ` and ${foreign.length - shown.length} more` : '';
  return new BadInputError(
    `schema "${schema}" is not a leapfrog ledger: it holds ${shown.join(', ')}${more}, which no ledger has; leapfrog will neither read, write nor move it`,
    {
      hint: 'give leapfrog a schema of its own with --ledger-schema (the default is "leapfrog")',
      details: { schema, foreign: [...foreign] },
    },
  );
}

async function copySurvivingRows(client: pg.ClientBase, from: string, to: string): Promise<void> {
  const survivors = await existingTables(client, from);
  // Parents before children (runs before phases and backups): the order the migrations created
  // the fresh ledger's tables in. Rows a fresh ledger writes itself (none today) are replaced.
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname <> 'ledger_migrations' ORDER BY c.oid`,
    [to],
  );
  const order = rows.map((r) => r.name).filter((t) => survivors.has(t));
  for (const table of [...order].reverse()) await client.query(`DELETE FROM "${to}".${table}`);
  for (const table of order) {
    const columns = async (s: string) =>
      (
        await client.query<{ name: string; optional: boolean }>(
          `SELECT column_name AS name, (is_nullable = 'YES' OR column_default IS NOT NULL) AS optional
             FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY column_name`,
          [s, table],
        )
      ).rows;
    const have = new Set((await columns(from)).map((c) => c.name));
    const fresh = await columns(to);
    // A column a later migration added (the phases' episode, 4) may be missing from a ledger
    // damaged before it: its rows are copied all the same when the column can be left empty.
    if (!fresh.every((c) => have.has(c.name) || c.optional)) continue;
    const wanted = fresh.map((c) => c.name).filter((c) => have.has(c));
    const list = wanted.map((c) => `"${c}"`).join(', ');
    await client.query(`INSERT INTO "${to}".${table} (${list}) SELECT ${list} FROM "${from}".${table}`);
    // Copied rows keep their ids: move each serial column's sequence past them.
    for (const column of wanted) {
      const { rows: serial } = await client.query<{ seq: string | null }>(
        'SELECT pg_get_serial_sequence($1, $2) AS seq',
        [`"${to}".${table}`, column],
      );
      const seq = serial[0]?.seq ?? null;
      if (seq === null) continue;
      await client.query(`SELECT setval($1, coalesce((SELECT max("${column}") FROM "${to}".${table}), 0) + 1, false)`, [
        seq,
      ]);
    }
  }
}
