import { hostname } from 'node:os';
import type pg from 'pg';
import { ClientSqlProbe, type SqlProbe } from '../checks/sql-probe.js';
import type { DatabaseTarget } from '../pg/database-target.js';
import { connectClient, endSession } from '../pg/connect.js';
import { logger } from '../util/logger.js';
import type { LedgerState } from './ledger.js';
import type { LedgerLock } from './ledger-lock.js';
import { ledgerSchemaName } from './ledger-schema-name.js';
import { ledgerDamage, ledgerExists, ledgerMigrations, migrateLedger, readIntactLedger } from './migrations.js';
import { PostgresLedger } from './postgres-ledger.js';

const log = logger('ledger');

export interface OpenLedgerOptions {
  schema: string;
  /** Create or upgrade the ledger schema; read-only verbs (status) pass false. */
  migrate: boolean;
  /**
   * `baseline --force`: a damaged ledger (a table dropped by hand) is rebuilt while migrating.
   * Without it a damaged ledger is refused (exit 2).
   */
  repair?: boolean;
}

/**
 * Opens the ledger of a database. Returns null when `migrate` is false and the database has no
 * ledger yet, so `status` can say "not baselined" without writing anything.
 */
export async function openPostgresLedger(
  target: DatabaseTarget,
  options: OpenLedgerOptions,
): Promise<PostgresLedger | null> {
  const schema = ledgerSchemaName(options.schema);
  const connect = () => connectClient(target, 'leapfrog ledger');
  const client = await connect();
  try {
    if (options.migrate) {
      await migrateLedger(client, schema, { repair: options.repair === true });
    } else if (!(await ledgerExists(client, schema))) {
      await client.end();
      return null;
    }
    return new PostgresLedger(client, schema, { connect, display: target.display });
  } catch (error) {
    // Closing must not replace the first error.
    await client.end().catch((e: unknown) => log.suppressed('closing the ledger session', e));
    throw error;
  }
}

/** What the ledger says before anything is written or locked. */
export interface LedgerReading {
  /** false: no ledger schema at all (never baselined), or a damaged one under `repair`. */
  exists: boolean;
  /** The ledger's migrations are not exactly this leapfrog's: migrate (or refuse a newer one) under the lock. */
  needsMigration: boolean;
  /** The recorded release; null when not baselined. */
  current: LedgerState | null;
}

const NEWEST_MIGRATION = Math.max(...ledgerMigrations.map((m) => m.id));

/**
 * ONE session for a whole run: first read-only (`reading`: does a ledger exist, is it baselined,
 * is it behind), so that a refused database gets no ledger schema; then, once the caller holds
 * the lock (a session of its own), `underLock` migrates only when the ledger is behind, claims
 * the fence and closes abandoned runs, and hands out the ledger on this same session. Probes the
 * run needs on the way (the backup's server version) reuse it through `query`.
 */
export class LedgerSession implements AsyncDisposable {
  #ledger: PostgresLedger | null = null;

  private constructor(
    private readonly target: DatabaseTarget,
    readonly schema: string,
    private readonly client: pg.Client,
    readonly reading: LedgerReading,
  ) {}

  static async open(
    target: DatabaseTarget,
    schemaOption: string,
    options: { repair?: boolean } = {},
  ): Promise<LedgerSession> {
    const schema = ledgerSchemaName(schemaOption);
    const client = await connectClient(target, 'leapfrog ledger');
    log.debug(`opened the ledger session on ${target.display} (schema "${schema}")`);
    try {
      return new LedgerSession(target, schema, client, await readLedger(client, schema, options.repair === true));
    } catch (error) {
      await client.end().catch((e: unknown) => log.suppressed('closing the ledger session', e));
      throw error;
    }
  }

  /** A read on the session before the ledger is handed out (e.g. the server version for pg_dump). */
  async query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]> {
    return (await this.withClient((client) => client.query<R>(sql, params))).rows;
  }

  /** The session's client for reads that need one (the lock holder for `status`), before the ledger is handed out. */
  withClient<T>(fn: (client: pg.ClientBase) => Promise<T>): Promise<T> {
    if (this.#ledger !== null) throw new Error('LedgerSession: the session belongs to the ledger now');
    return fn(this.client);
  }

  /**
   * The manifest's SQL (checks, gates, appVersion) on this session, read-only: before the ledger
   * is handed out on the session's client, after it on the ledger's (which reconnects).
   */
  sqlProbe(): SqlProbe {
    const onSession = new ClientSqlProbe(() => Promise.resolve(this.client), this.target.secrets);
    return {
      query: (sql, timeoutMs) =>
        this.#ledger === null
          ? onSession.query(sql, timeoutMs)
          : this.#ledger.sqlProbe(this.target.secrets).query(sql, timeoutMs),
    };
  }

  /**
   * The ledger for reading only (`status`), on this session, without the lock: null when the
   * database has no ledger. Nothing is migrated, so a read-only verb never writes.
   */
  readOnly(): PostgresLedger | null {
    if (!this.reading.exists) return null;
    this.#ledger ??= new PostgresLedger(this.client, this.schema);
    return this.#ledger;
  }

  /**
   * Call while holding `lock`: brings the ledger up to date only when it is behind (or missing,
   * or being repaired), claims the fencing token so that every write of this run is checked
   * against the lock, and marks runs a dead process left `running` as interrupted.
   */
  async underLock(lock: LedgerLock, options: { repair?: boolean } = {}): Promise<PostgresLedger> {
    if (this.#ledger !== null) return this.#ledger;
    const repair = options.repair === true;
    if (!this.reading.exists || this.reading.needsMigration || repair) {
      log.debug(`migrating the ledger schema "${this.schema}"`);
      await migrateLedger(this.client, this.schema, { repair });
    }
    const ledger = new PostgresLedger(this.client, this.schema, {
      connect: () => connectClient(this.target, 'leapfrog ledger'),
      display: this.target.display,
    });
    this.#ledger = ledger;
    await ledger.claimFence(lock, `${hostname()} pid ${process.pid}`);
    // We hold the lock, so a run still marked running belongs to a process that died.
    await ledger.closeAbandonedRuns();
    return ledger;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    log.debug('closing the ledger session');
    if (this.#ledger !== null) await this.#ledger[Symbol.asyncDispose]();
    else endSession(this.client, 'the ledger session');
  }
}

async function readLedger(client: pg.Client, schema: string, repair: boolean): Promise<LedgerReading> {
  if (repair) {
    // A damaged ledger counts as not baselined under repair: what it records cannot be trusted.
    const damage = await ledgerDamage(client, schema);
    if (damage === null || damage.length > 0) return { exists: false, needsMigration: true, current: null };
  } else {
    // The common case in one round trip; null sends a missing or damaged ledger the long way.
    const intact = await readIntactLedger(client, schema);
    if (intact !== null) return readingOf(intact.newest, intact.state);
    if (!(await ledgerExists(client, schema))) return { exists: false, needsMigration: true, current: null };
  }
  // One round trip for both: how far the ledger is migrated and the recorded release.
  const read = await client.query<{
    newest: number | null;
    release: string | null;
    version: string | null;
    updated_at: Date | null;
  }>(
    `SELECT (SELECT max(id) FROM "${schema}".ledger_migrations) AS newest, s.release, s.version, s.updated_at
       FROM (SELECT 1) AS one LEFT JOIN "${schema}".state AS s ON true`,
  );
  return readingOf(read.rows[0]?.newest ?? 0, read.rows[0]);
}

function readingOf(
  newest: number,
  row: { release: string | null; version: string | null; updated_at: Date | null } | undefined,
): LedgerReading {
  return {
    exists: true,
    needsMigration: newest !== NEWEST_MIGRATION,
    current:
      row === undefined || row.release === null || row.version === null || row.updated_at === null
        ? null
        : { release: row.release, version: row.version, updatedAt: row.updated_at },
  };
}
