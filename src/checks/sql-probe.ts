import type pg from 'pg';
import { connectClient } from '../pg/connect.js';
import { oneStatement } from '../pg/sql-text.js';
import { MAX_DURATION_MS } from '../util/duration.js';
import type { DatabaseTarget } from '../pg/database-target.js';
import { redact } from '../util/redact.js';
import { logger } from '../util/logger.js';

const log = logger('checks');

/**
 * The role the runner, the guards and `status` need to evaluate a manifest's SQL (checks, gates,
 * appVersion) without a process: a read-only query, bounded in time. The runner knows only the
 * interface; ClientSqlProbe below is the PostgreSQL implementation over a session leapfrog already
 * holds (so a check costs a round trip, not a connection or a Node process).
 */
export interface SqlProbe {
  /**
   * Runs `sql` in its own READ ONLY transaction with `statement_timeout = timeoutMs`, then rolls
   * back. Rows come back as column name -> value, values as pg returns them (text for most types).
   * A query that fails (syntax, timeout, a write attempted) rejects with SqlProbeError.
   */
  query(sql: string, timeoutMs: number): Promise<SqlRows>;
}

export interface SqlRows {
  columns: readonly string[];
  rows: readonly Readonly<Record<string, unknown>>[];
}

/** A query the database refused or cancelled; `timedOut` for the statement timeout. */
export class SqlProbeError extends Error {
  constructor(
    message: string,
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SqlProbeError';
  }
}

/**
 * What the application says it is: the first column of the first row of `appVersion.sql`, as
 * trimmed text; null when the query returns no row or a NULL (an application not installed yet).
 */
export async function readAppVersion(probe: SqlProbe, sql: string, timeoutMs = 30_000): Promise<string | null> {
  const { columns, rows } = await probe.query(sql, timeoutMs);
  const first = rows[0];
  const column = columns[0];
  if (first === undefined || column === undefined) return null;
  const value = first[column];
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

// 57014: query_canceled, which is what statement_timeout raises.
const QUERY_CANCELED = '57014';

/**
 * SqlProbe over a pg session leapfrog already holds (the ledger session): each query in its own
 * READ ONLY transaction, with a statement timeout set LOCAL to it, then rolled back, so a
 * manifest's SQL can neither write nor leave a setting behind. Queries run one at a time on the
 * session, never interleaved with ledger writes (the caller awaits each).
 */
export class ClientSqlProbe implements SqlProbe {
  /** `session` returns the live client each time (the ledger reconnects a dropped session). */
  constructor(
    private readonly session: () => Promise<pg.ClientBase>,
    private readonly secrets: readonly string[] = [],
  ) {}

  async query(sql: string, timeoutMs: number): Promise<SqlRows> {
    const started = performance.now();
    const client = await this.session();
    // One round trip for both: our own text (the timeout is a formatted integer) as a simple query,
    // which may hold two statements. If the SET failed after the BEGIN, the session would stay in
    // an aborted transaction, and it is the ledger's: roll back before the error travels on.
    // statement_timeout is an int of ms, as long as a duration may be (manifests stop there already).
    const timeout = Math.min(MAX_DURATION_MS, Math.max(1, Math.round(timeoutMs)));
    await client.query(`BEGIN READ ONLY; SET LOCAL statement_timeout = ${timeout}`).catch(async (error: unknown) => {
      await client.query('ROLLBACK').catch((again: unknown) => log.suppressed('rolling back a sql probe', again));
      throw error;
    });
    try {
      const result = await client.query(oneStatement<pg.QueryArrayConfig>({ text: sql, rowMode: 'array' }));
      const columns = result.fields.map((field) => field.name);
      const rows = (result.rows as unknown[][]).map((row) =>
        Object.fromEntries(columns.map((column, index) => [column, row[index]])),
      );
      log.debug(`sql probe: ${rows.length} row(s) in ${Math.round(performance.now() - started)} ms`);
      return { columns, rows };
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const message = redact(error instanceof Error ? error.message : String(error), this.secrets);
      throw new SqlProbeError(
        code === QUERY_CANCELED ? `timed out after ${timeoutMs} ms (statement_timeout)` : message,
        code === QUERY_CANCELED,
        { cause: error },
      );
    } finally {
      await client.query('ROLLBACK').catch((error: unknown) => log.suppressed('rolling back a sql probe', error));
    }
  }
}

/**
 * A SqlProbe with a connection of its own, opened at its first query and closed on dispose: for
 * callers that hold no ledger session (baseline's verification runs before it takes the lock).
 * A release without SQL never opens it.
 */
export class ConnectionSqlProbe implements SqlProbe, AsyncDisposable {
  #client: Promise<pg.Client> | null = null;

  constructor(private readonly target: DatabaseTarget) {}

  query(sql: string, timeoutMs: number): Promise<SqlRows> {
    const probe = new ClientSqlProbe(
      () => (this.#client ??= connectClient(this.target, 'leapfrog-sql')),
      this.target.secrets,
    );
    return probe.query(sql, timeoutMs);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const opening = this.#client;
    this.#client = null;
    if (opening === null) return;
    log.debug(`closing the sql probe's connection to ${this.target.display}`);
    await opening
      .then((client) => client.end())
      .catch((error: unknown) => log.suppressed(`closing the sql probe's connection to ${this.target.display}`, error));
  }
}
