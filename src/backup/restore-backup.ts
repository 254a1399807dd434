import { runTool } from '../util/run-tool.js';
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type pg from 'pg';
import { BadInputError, RefusedError } from '../errors/index.js';
import { openPostgresLedger } from '../ledger/open-ledger.js';
import { clientSessionsOf, describeSession, type ClientSession } from '../pg/client-sessions.js';
import { databaseName, withDatabase, type DatabaseTarget } from '../pg/database-target.js';
import { redact } from '../util/redact.js';
import { identifierWithSuffix, quoteIdent } from '../pg/sql-text.js';
import { withClient } from '../pg/with-client.js';
import type { ReleaseRef } from '../planner/plan.js';
import { logger } from '../util/logger.js';
import { nextCommand } from '../util/next-command.js';
import {
  BackupCorruptedError,
  BackupFailedError,
  DatabaseInUseError,
  OtherDatabaseBackupError,
  type BlockingSession,
} from './backup-errors.js';
import { digestBackup, type LocatedBackup } from './backup-store.js';
import {
  describeIdentity,
  isUnknownIdentity,
  readDatabaseIdentity,
  sameDatabase,
  type DatabaseIdentity,
} from './database-identity.js';
import { libpqConnection, type PgTools } from './pg-tools.js';

/**
 * Restoring a backup: its sha256 checked before the target is touched, then pg_restore into the
 * database, or beside it and swapped in by renaming, refused while client sessions use it or
 * when the dump is of another database.
 */

const log = logger('backup');

/**
 * A restore from a truncated or altered dump fails halfway, or worse, succeeds with missing
 * rows. The digest recorded when the backup was taken is checked before the target is touched.
 */
export async function verifyBackup(backup: LocatedBackup, expectedSha256: string | undefined): Promise<string> {
  const expected = (expectedSha256 ?? backup.record?.sha256)?.toLowerCase();
  if (expected === undefined) {
    throw new BadInputError(
      `${backup.path} has no sidecar (${backup.path}.leapfrog.json), so its sha256 cannot be verified`,
      {
        hint: `pass --sha256 HEX with the digest from \`${nextCommand('backups')}\` (the ledger also lists it)`,
      },
    );
  }
  const info = await stat(backup.path).catch((e: unknown) => void log.suppressed(`reading ${backup.path}`, e));
  if (!info) {
    throw new BadInputError(`the backup ${backup.path} named by its sidecar does not exist`, {
      hint: `copy the dump back next to its sidecar, or list the backups with \`${nextCommand('backups')}\``,
    });
  }
  const actual = await digestBackup(backup.path, backup.format);
  if (actual.sha256 !== expected) {
    throw new BackupCorruptedError(
      `the backup ${backup.path} is corrupted: its sha256 is ${actual.sha256}, but ${expected} was recorded when it was taken; nothing was restored`,
      `restore an intact copy of this backup, or choose an older one from \`${nextCommand('backups')}\``,
      { path: backup.path, expected, actual: actual.sha256 },
    );
  }
  return actual.sha256;
}

export interface RestoreOptions {
  backup: LocatedBackup;
  target: DatabaseTarget;
  tools: PgTools;
  /** Replace a database that has tables (the operator said so on purpose). */
  yes: boolean;
  /** Create the database when it does not exist. */
  create: boolean;
  /** pg_restore --jobs for a directory-format backup. */
  jobs: number;
  /** The target's ledger schema, where its database identity is (default `leapfrog`). */
  ledgerSchema?: string;
  /** Replace the database with a dump of another database (the operator said so on purpose). */
  otherDatabase?: boolean;
}

export interface RestoreOutcome {
  database: string;
  /** What happened to the database before pg_restore ran. */
  action: 'created' | 'replaced' | 'filled-empty';
  durationMs: number;
}

/**
 * Restores a verified backup into the target database. A database that has tables is not
 * restored over (`pg_restore --clean` would leave behind every table the failed upgrade added):
 * the backup is restored into a new database of the same shape (owner, encoding, locale,
 * per-database settings), and only when that succeeded is it swapped in by renaming, so a
 * failed restore leaves the original database exactly as it was.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreOutcome> {
  const { target } = options;
  const name = databaseName(target);
  const maintenance = withDatabase(target, name === 'postgres' ? 'template1' : 'postgres');
  const started = performance.now();
  const action = await withClient(maintenance, async (admin) => {
    const existing = await describeDatabase(admin, name);
    if (existing === undefined) {
      if (!options.create) {
        throw new BadInputError(`the database ${target.display} does not exist`, {
          hint: `add --create to create it and restore into it`,
        });
      }
      await admin.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0`);
      try {
        await runPgRestore(options, target);
      } catch (error) {
        await admin
          .query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`)
          .catch((e: unknown) => log.suppressed(`dropping ${name} after a failed restore`, e));
        throw error;
      }
      return 'created' as const;
    }
    const { relations, identity } = await withClient(target, async (client) => ({
      relations: await countUserRelations(client),
      identity: await readDatabaseIdentity(client, options.ledgerSchema ?? 'leapfrog'),
    }));
    if (relations === 0) {
      await runPgRestore(options, target);
      return 'filled-empty' as const;
    }
    assertSameDatabase(options, identity);
    if (!options.yes) {
      throw new RefusedError(
        `the database ${target.display} is not empty (${relations} tables, views or sequences): restoring would replace it, so nothing was done`,
        {
          hint: `to replace it with the backup, run again with --yes; to restore beside it, point --database-url at a new database and add --create`,
        },
      );
    }
    await assertNotInUse(admin, name, target);
    const suffix = randomBytes(4).toString('hex');
    const staging = identifierWithSuffix(name, `_lf_restore_${suffix}`);
    await createLike(admin, staging, existing);
    try {
      await runPgRestore(options, withDatabase(target, staging));
      await assertNotInUse(admin, name, target);
      const retired = identifierWithSuffix(name, `_lf_replaced_${suffix}`);
      try {
        await admin.query(`ALTER DATABASE ${quoteIdent(name)} RENAME TO ${quoteIdent(retired)}`);
      } catch (cause) {
        // A session connected after the check: the original stays as it was.
        if ((cause as { code?: string }).code !== '55006') throw cause;
        const sessions = await clientSessionsOf(admin, name, { clientsOnly: false });
        throw new DatabaseInUseError(
          `the database ${target.display} was connected to while the backup was being restored beside it${sessions.length > 0 ? ` (${sessions.map(describeSession).join('; ')})` : ''}, so it was left as it was`,
          'stop the application and any leapfrog run using it, then run the same restore command again',
          sessions.map(blockingSession),
          cause,
        );
      }
      try {
        await admin.query(`ALTER DATABASE ${quoteIdent(staging)} RENAME TO ${quoteIdent(name)}`);
      } catch (error) {
        await admin
          .query(`ALTER DATABASE ${quoteIdent(retired)} RENAME TO ${quoteIdent(name)}`)
          .catch((e: unknown) => log.suppressed(`renaming ${retired} back to ${name}`, e));
        throw error;
      }
      await admin.query(`DROP DATABASE ${quoteIdent(retired)}`);
    } catch (error) {
      await admin
        .query(`DROP DATABASE IF EXISTS ${quoteIdent(staging)}`)
        .catch((e: unknown) => log.suppressed(`dropping ${staging}`, e));
      throw error;
    }
    return 'replaced' as const;
  });
  return { database: target.display, action, durationMs: Math.round(performance.now() - started) };
}

interface DatabaseShape {
  owner: string;
  encoding: string;
  collate: string;
  ctype: string;
  settings: string[];
}

async function describeDatabase(admin: pg.Client, name: string): Promise<DatabaseShape | undefined> {
  const { rows } = await admin.query<DatabaseShape>(
    `SELECT pg_get_userbyid(d.datdba) AS owner, pg_encoding_to_char(d.encoding) AS encoding,
            d.datcollate AS collate, d.datctype AS ctype,
            coalesce((SELECT s.setconfig FROM pg_db_role_setting s WHERE s.setdatabase = d.oid AND s.setrole = 0), '{}') AS settings
       FROM pg_database d WHERE d.datname = $1`,
    [name],
  );
  return rows[0];
}

async function countUserRelations(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
        AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')`,
  );
  return Number(rows[0]?.n ?? 0);
}

async function assertNotInUse(admin: pg.Client, name: string, target: DatabaseTarget): Promise<void> {
  // No FORCE: a running application or leapfrog run must be stopped by the operator, not
  // disconnected behind their back in the middle of a transaction.
  const clients = await clientSessionsOf(admin, name);
  if (clients.length > 0) {
    throw new DatabaseInUseError(
      `the database ${target.display} has ${clients.length} other client session(s) (${clients.map(describeSession).join('; ')}): it cannot be replaced while in use, so it was left as it was`,
      'stop the application and any leapfrog run using it, then run the same restore command again',
      clients.map(blockingSession),
    );
  }
}

function blockingSession(session: ClientSession): BlockingSession {
  return { pid: session.pid, backendType: session.backend_type, applicationName: session.application_name };
}

/**
 * A dump of another database must not silently replace this one (a shared backup folder makes
 * that one typo away). Unknown on either side (a dump without sidecar, or from before leapfrog
 * recorded identities) is not proof of a mismatch: the digest the operator gave is trusted.
 */
function assertSameDatabase(options: RestoreOptions, target: DatabaseIdentity): void {
  const record = options.backup.record;
  if (options.otherDatabase === true || record === undefined || isUnknownIdentity(record)) return;
  if (sameDatabase(record, target)) return;
  throw new OtherDatabaseBackupError(
    `the backup ${options.backup.path} is of the database ${describeIdentity(record)}, but ${options.target.display} is ${describeIdentity(target)}: restoring it would replace this database with another one, so nothing was done`,
    `restore a backup of this database (\`${nextCommand('backups')}\` lists them); to replace it with the other database on purpose add --other-database; to restore beside it, point --database-url at a new database and add --create`,
    { backup: options.backup.path, backupDatabase: pickIdentity(record), targetDatabase: target },
  );
}

function pickIdentity(identity: DatabaseIdentity): DatabaseIdentity {
  return {
    databaseId: identity.databaseId,
    systemIdentifier: identity.systemIdentifier,
    databaseName: identity.databaseName,
  };
}

async function createLike(admin: pg.Client, name: string, shape: DatabaseShape): Promise<void> {
  await admin.query(
    `CREATE DATABASE ${quoteIdent(name)} TEMPLATE template0 OWNER ${quoteIdent(shape.owner)} ENCODING ${literal(shape.encoding)} LC_COLLATE ${literal(shape.collate)} LC_CTYPE ${literal(shape.ctype)}`,
  );
  for (const setting of shape.settings) {
    const eq = setting.indexOf('=');
    if (eq <= 0) continue;
    await admin.query(
      `ALTER DATABASE ${quoteIdent(name)} SET ${quoteIdent(setting.slice(0, eq))} = ${literal(setting.slice(eq + 1))}`,
    );
  }
}

async function runPgRestore(options: RestoreOptions, into: DatabaseTarget): Promise<void> {
  const { backup, tools } = options;
  const target = into;
  const connection = libpqConnection(target);
  const parallel = backup.format === 'directory' && options.jobs > 1;
  const args = [
    `--dbname=${connection.dbnameArg}`,
    '--exit-on-error',
    '--no-password',
    // One transaction makes a failed restore leave the database empty rather than half-filled;
    // pg_restore cannot combine it with parallel jobs.
    ...(parallel ? [`--jobs=${options.jobs}`] : ['--single-transaction']),
    backup.path,
  ];
  log.debug(`running ${tools.pgRestore} into ${target.display}`);
  const result = await runTool(tools.pgRestore, args, { env: connection.env });
  if (result.exitCode !== 0) {
    const output = redact(`${result.stderr}\n${result.stdout}`.trim(), target.secrets);
    throw new BackupFailedError(
      `pg_restore of ${backup.path} into ${target.display} failed (exit ${result.exitCode ?? 'killed'}): ${output.split('\n').slice(-5).join(' | ')}`,
      {
        hint: 'fix the cause above (permissions, missing roles: see docs/restore.md), then run the same restore command with --yes',
        failure: { tool: 'pg_restore', exit: result.exitCode ?? null },
      },
    );
  }
}

function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** The release the restored database's own ledger records (it came with the dump). */
export async function restoredRelease(target: DatabaseTarget, schema: string): Promise<ReleaseRef | null> {
  const ledger = await openPostgresLedger(target, { schema, migrate: false });
  if (ledger === null) return null;
  await using opened = ledger;
  const state = await opened.currentRelease();
  return state === null ? null : { release: state.release, version: state.version };
}
