import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { ClientSqlProbe, type SqlProbe } from '../checks/sql-probe.js';
import { isConnectionLoss } from '../pg/connect.js';
import type { ReleaseRef } from '../planner/plan.js';
import { LOCK_CLASS, LOCK_HELD_BY, lockLostError, type LedgerLock } from './ledger-lock.js';
import type {
  BackupRecord,
  Ledger,
  LedgerState,
  NewBackup,
  NewRun,
  PhaseKey,
  PhaseRecord,
  PhaseResultRecord,
  RunRecord,
  RunStatus,
} from './ledger.js';

interface RunRow {
  id: string;
  plan_digest: string;
  from_release: string;
  from_version: string;
  to_release: string;
  to_version: string;
  mode: 'step' | 'apply';
  host: string;
  pid: number;
  status: RunStatus;
  started_at: Date;
  finished_at: Date | null;
}

interface PhaseRow {
  run_id: string;
  plan_digest: string;
  from_release: string;
  release: string;
  phase: PhaseRecord['phase'];
  name: string;
  status: PhaseRecord['status'];
  attempts: number;
  exit_code: number | null;
  output_tail: string;
  started_at: Date;
  finished_at: Date | null;
  duration_ms: string | null;
  rows_migrated: string | null;
  details: Record<string, unknown> | null;
}

interface BackupRow {
  id: string;
  release: string;
  version: string;
  path: string;
  format: string;
  bytes: string;
  sha256: string;
  duration_ms: string;
  created_at: Date;
  run_id: string | null;
  // Absent in a ledger that predates migration 2 (read-only verbs do not migrate it).
  database_id?: string | null;
  system_identifier?: string | null;
  database_name?: string | null;
}

/** How a ledger reaches its database again after its session was dropped. */
export interface LedgerConnection {
  connect(): Promise<pg.Client>;
  /** The database as people see it (never the URL), for errors. */
  display: string;
  /** How often the idle ledger session runs a trivial query; default 10 s. */
  keepAliveMs?: number;
}

interface Fence {
  lock: LedgerLock;
  token: string;
}

/**
 * The ledger in the target PostgreSQL database, on one client of its own (the lock has another).
 * Every write is one transaction, so a crash between two writes leaves the ledger consistent.
 *
 * Under the lock (`claimFence`), every write first checks, in its own transaction and holding the
 * fence row, that the fencing token is still this run's and that the lock session still holds
 * the advisory lock: a run that lost its lock can never record a phase or move the release,
 * whatever its own process believes. A read whose session was dropped reconnects and runs again;
 * a write is never retried (it may have committed), but the next one gets a fresh session.
 */
export class PostgresLedger implements Ledger {
  private client!: pg.Client;
  private dead = false;
  private fence: Fence | null = null;
  private readonly keepAlive: NodeJS.Timeout | null = null;

  constructor(
    client: pg.Client,
    readonly schema: string,
    private readonly connection: LedgerConnection | null = null,
  ) {
    this.adopt(client);
    if (connection !== null) {
      // The session sits idle while phase commands run; a query now and then keeps proxies and
      // poolers from dropping it (the server's own idle timeouts are off, see connectClient).
      this.keepAlive = setInterval(() => {
        if (!this.dead) this.client.query('SELECT 1').catch(() => undefined);
      }, connection.keepAliveMs ?? 10_000);
      this.keepAlive.unref();
    }
  }

  get lockLost(): AbortSignal | undefined {
    return this.fence?.lock.lost;
  }

  private adopt(client: pg.Client): void {
    this.client = client;
    this.dead = false;
    client.on('end', () => {
      if (this.client === client) this.dead = true;
    });
  }

  private async live(): Promise<pg.Client> {
    if (this.dead && this.connection !== null) {
      const old = this.client;
      this.adopt(await this.connection.connect());
      await old.end().catch(() => undefined);
    }
    return this.client;
  }

  /** The manifest's SQL (checks, gates, appVersion) on this session, read-only (src/checks). */
  sqlProbe(secrets: readonly string[]): SqlProbe {
    return new ClientSqlProbe(() => this.live(), secrets);
  }

  private async read<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await (await this.live()).query<R>(sql, params);
    } catch (error) {
      if (this.connection === null || !isConnectionLoss(error)) throw error;
      this.dead = true;
      return (await this.live()).query<R>(sql, params);
    }
  }

  /** One transaction, fenced when the ledger was opened under the lock. */
  private async write<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
    const fence = this.fence;
    if (lostLock(fence)) throw fence?.lock.lost.reason;
    const client = await this.live();
    await client.query('BEGIN');
    try {
      if (fence !== null) await this.checkFence(client, fence);
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // The rollback's own failure must not replace the error that caused it.
      await client.query('ROLLBACK').catch(() => undefined);
      // A write that failed because the lock went says that, not "connection terminated".
      if (lostLock(fence)) throw fence?.lock.lost.reason;
      throw error;
    }
  }

  private async checkFence(client: pg.Client, fence: Fence): Promise<void> {
    const { rows } = await client.query<{ token: string; held: boolean }>(
      `SELECT token::text AS token, ${LOCK_HELD_BY} AS held FROM ${this.t('lock_fence')} FOR UPDATE`,
      [LOCK_CLASS, fence.lock.schema, fence.lock.backendPid],
    );
    const row = rows[0];
    if (row?.token !== fence.token) {
      throw lockLostError(
        this.display(),
        `another run took the lock since (fencing token ${fence.token}, now ${row?.token ?? 'none'})`,
      );
    }
    if (!row.held)
      throw lockLostError(
        this.display(),
        `the lock session (backend ${fence.lock.backendPid}) no longer holds the advisory lock`,
      );
  }

  private display(): string {
    return this.connection?.display ?? 'the database';
  }

  /**
   * Called right after the lock is taken: a new fencing token, naming the session that holds the
   * lock. From here on every write of any run that held the lock before is refused.
   */
  async claimFence(lock: LedgerLock, holder: string): Promise<void> {
    const client = await this.live();
    await client.query('BEGIN');
    try {
      const held = await client.query<{ held: boolean }>(`SELECT ${LOCK_HELD_BY} AS held`, [
        LOCK_CLASS,
        lock.schema,
        lock.backendPid,
      ]);
      if (held.rows[0]?.held !== true)
        throw lockLostError(this.display(), 'the lock session no longer holds the advisory lock');
      const { rows } = await client.query<{ token: string }>(
        `INSERT INTO ${this.t('lock_fence')} (singleton, token, holder, lock_backend_pid) VALUES (true, 1, $1, $2)
         ON CONFLICT (singleton) DO UPDATE SET token = ${this.t('lock_fence')}.token + 1, holder = EXCLUDED.holder,
           lock_backend_pid = EXCLUDED.lock_backend_pid, run_id = NULL, acquired_at = now()
         RETURNING token::text AS token`,
        [holder, lock.backendPid],
      );
      await client.query('COMMIT');
      this.fence = { lock, token: rows[0]?.token ?? '' };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  private t(table: string): string {
    return `"${this.schema}".${table}`;
  }

  async currentRelease(): Promise<LedgerState | null> {
    const { rows } = await this.read<{ release: string; version: string; updated_at: Date }>(
      `SELECT release, version, updated_at FROM ${this.t('state')}`,
    );
    const row = rows[0];
    return row === undefined ? null : { release: row.release, version: row.version, updatedAt: row.updated_at };
  }

  async setCurrentRelease(release: ReleaseRef): Promise<void> {
    await this.write((client) => this.upsertState(client, release));
  }

  private async upsertState(client: pg.Client, release: ReleaseRef): Promise<void> {
    await client.query(
      `INSERT INTO ${this.t('state')} (singleton, release, version, updated_at) VALUES (true, $1, $2, now())
       ON CONFLICT (singleton) DO UPDATE SET release = EXCLUDED.release, version = EXCLUDED.version, updated_at = now()`,
      [release.release, release.version],
    );
  }

  async startRun(run: NewRun): Promise<RunRecord> {
    const id = randomUUID();
    return this.write(async (client) => {
      const { rows } = await client.query<RunRow>(
        `INSERT INTO ${this.t('runs')} (id, plan_digest, from_release, from_version, to_release, to_version, mode, host, pid, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'running') RETURNING *`,
        [
          id,
          run.planDigest,
          run.from.release,
          run.from.version,
          run.to.release,
          run.to.version,
          run.mode,
          run.host,
          run.pid,
        ],
      );
      // The fence names the run that holds the lock, for whoever looks at the ledger.
      if (this.fence !== null) await client.query(`UPDATE ${this.t('lock_fence')} SET run_id = $1`, [id]);
      return runOf(rows[0] as RunRow);
    });
  }

  async finishRun(runId: string, status: Exclude<RunStatus, 'running'>): Promise<void> {
    await this.write((client) =>
      client.query(`UPDATE ${this.t('runs')} SET status = $2, finished_at = now() WHERE id = $1`, [runId, status]),
    );
  }

  async closeAbandonedRuns(): Promise<number> {
    return this.write(async (client) => {
      const result = await client.query(
        `UPDATE ${this.t('runs')} SET status = 'interrupted', finished_at = now() WHERE status = 'running'`,
      );
      // Phases a killed process left running are not succeeded, so they run again; say so.
      await client.query(
        `UPDATE ${this.t('phases')} SET status = 'interrupted', finished_at = now() WHERE status = 'running'`,
      );
      return result.rowCount ?? 0;
    });
  }

  async runningRuns(): Promise<RunRecord[]> {
    const { rows } = await this.read<RunRow>(
      `SELECT * FROM ${this.t('runs')} WHERE status = 'running' ORDER BY started_at DESC`,
    );
    return rows.map(runOf);
  }

  async lastRun(): Promise<RunRecord | null> {
    const { rows } = await this.read<RunRow>(`SELECT * FROM ${this.t('runs')} ORDER BY started_at DESC LIMIT 1`);
    return rows[0] === undefined ? null : runOf(rows[0]);
  }

  async phase(key: PhaseKey): Promise<PhaseRecord | null> {
    const { rows } = await this.read<PhaseRow>(
      `SELECT * FROM ${this.t('phases')} WHERE from_release = $1 AND release = $2 AND phase = $3 AND name = $4`,
      [key.fromRelease, key.release, key.phase, key.name],
    );
    return rows[0] === undefined ? null : phaseOf(rows[0]);
  }

  async startPhase(key: PhaseKey, runId: string, planDigest: string): Promise<void> {
    await this.write((client) =>
      client.query(
        `INSERT INTO ${this.t('phases')} (run_id, plan_digest, from_release, release, phase, name, status, attempts, started_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'running', 1, now())
         ON CONFLICT (from_release, release, phase, name) DO UPDATE SET
           run_id = EXCLUDED.run_id, plan_digest = EXCLUDED.plan_digest, status = 'running',
           attempts = ${this.t('phases')}.attempts + 1, started_at = now(), finished_at = NULL, exit_code = NULL`,
        [runId, planDigest, key.fromRelease, key.release, key.phase, key.name],
      ),
    );
  }

  async finishPhase(key: PhaseKey, result: PhaseResultRecord, advanceTo?: ReleaseRef): Promise<void> {
    // The phase's record and the release's advance commit together or not at all.
    await this.write(async (client) => {
      await client.query(
        `UPDATE ${this.t('phases')} SET status = $5, exit_code = $6, output_tail = $7, duration_ms = $8,
           rows_migrated = $9, details = $10, finished_at = now()
         WHERE from_release = $1 AND release = $2 AND phase = $3 AND name = $4`,
        [
          key.fromRelease,
          key.release,
          key.phase,
          key.name,
          result.status,
          result.exitCode,
          result.outputTail.join('\n'),
          Math.round(result.durationMs),
          result.rowsMigrated,
          result.details === null ? null : JSON.stringify(result.details),
        ],
      );
      if (advanceTo !== undefined) await this.upsertState(client, advanceTo);
    });
  }

  async phasesOfRun(runId: string): Promise<PhaseRecord[]> {
    const { rows } = await this.read<PhaseRow>(
      `SELECT * FROM ${this.t('phases')} WHERE run_id = $1 ORDER BY started_at, id`,
      [runId],
    );
    return rows.map(phaseOf);
  }

  async lastFailedPhase(): Promise<PhaseRecord | null> {
    const { rows } = await this.read<PhaseRow>(
      `SELECT * FROM ${this.t('phases')} WHERE status IN ('failed', 'interrupted') ORDER BY finished_at DESC NULLS LAST, id DESC LIMIT 1`,
    );
    return rows[0] === undefined ? null : phaseOf(rows[0]);
  }

  async recordBackup(backup: NewBackup): Promise<BackupRecord> {
    return this.write(async (client) => {
      const { rows } = await client.query<BackupRow>(
        `INSERT INTO ${this.t('backups')} (id, release, version, path, format, bytes, sha256, duration_ms, run_id,
           database_id, system_identifier, database_name)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
           coalesce($10::uuid, (SELECT database_id FROM ${this.t('identity')})), $11, $12) RETURNING *`,
        [
          randomUUID(),
          backup.release,
          backup.version,
          backup.path,
          backup.format,
          backup.bytes,
          backup.sha256,
          Math.round(backup.durationMs),
          backup.runId,
          backup.databaseId ?? null,
          backup.systemIdentifier ?? null,
          backup.databaseName ?? null,
        ],
      );
      return backupOf(rows[0] as BackupRow);
    });
  }

  async backups(): Promise<BackupRecord[]> {
    const { rows } = await this.read<BackupRow>(`SELECT * FROM ${this.t('backups')} ORDER BY created_at, id`);
    return rows.map(backupOf);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.keepAlive !== null) clearInterval(this.keepAlive);
    await this.client.end();
  }
}

/** A function, not an inline test, so the check after an await is not narrowed away. */
function lostLock(fence: Fence | null): boolean {
  return fence?.lock.lost.aborted === true;
}

function runOf(row: RunRow): RunRecord {
  return {
    id: row.id,
    planDigest: row.plan_digest,
    from: { release: row.from_release, version: row.from_version },
    to: { release: row.to_release, version: row.to_version },
    mode: row.mode,
    host: row.host,
    pid: row.pid,
    status: row.status,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

function phaseOf(row: PhaseRow): PhaseRecord {
  return {
    runId: row.run_id,
    planDigest: row.plan_digest,
    fromRelease: row.from_release,
    release: row.release,
    phase: row.phase,
    name: row.name,
    status: row.status,
    attempts: row.attempts,
    exitCode: row.exit_code,
    outputTail: row.output_tail === '' ? [] : row.output_tail.split('\n'),
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    durationMs: row.duration_ms === null ? 0 : Number(row.duration_ms),
    rowsMigrated: row.rows_migrated === null ? null : Number(row.rows_migrated),
    details: row.details,
  };
}

function backupOf(row: BackupRow): BackupRecord {
  return {
    id: row.id,
    release: row.release,
    version: row.version,
    path: row.path,
    format: row.format,
    bytes: Number(row.bytes),
    sha256: row.sha256,
    durationMs: Number(row.duration_ms),
    createdAt: row.created_at,
    runId: row.run_id,
    databaseId: row.database_id ?? null,
    systemIdentifier: row.system_identifier ?? null,
    databaseName: row.database_name ?? null,
  };
}
