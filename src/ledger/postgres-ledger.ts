import { createHash, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { ClientSqlProbe, type SqlProbe } from '../checks/sql-probe.js';
import { endSession, isConnectionLoss } from '../pg/connect.js';
import type { ReleaseRef } from '../planner/plan.js';
import { LOCK_CLASS, LOCK_HELD_BY, lockHeldBy, lockLostError, type LedgerLock } from './ledger-lock.js';
import type {
  BackupRecord,
  Ledger,
  LedgerState,
  NewBackup,
  NewRun,
  PhaseKey,
  PhaseRecord,
  PhaseResultRecord,
  FinishedPhase,
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

/** What a fenced write returns beside its own columns: the fence row as the statement saw it. */
interface FenceColumns {
  fence_token: string | null;
  fence_held: boolean | null;
}

/** One statement's parameters: `p(value)` appends the value and returns its placeholder. */
class Params {
  readonly values: unknown[] = [];

  p(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/**
 * The ledger in the target PostgreSQL database, on one client of its own (the lock has another).
 * Every write is ONE statement, so it is atomic (a crash between two writes leaves the ledger
 * consistent) and costs one round trip.
 *
 * Under the lock (`claimFence`), every write statement first locks the fence row and checks that
 * the fencing token is still this run's and that the lock session still holds the advisory lock;
 * its writes are guarded by that check: a run that lost its lock can never record a phase or move
 * the release, whatever its own process believes. A read whose session was dropped reconnects and
 * runs again; a write is never retried (it may have committed), but the next one gets a fresh
 * session.
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
      return await (await this.live()).query<R>(prepared(sql, params ?? []));
    } catch (error) {
      if (this.connection === null || !isConnectionLoss(error)) throw error;
      this.dead = true;
      return (await this.live()).query<R>(prepared(sql, params ?? []));
    }
  }

  /**
   * One write = ONE statement, so one round trip and atomic on its own (a single statement is
   * its own transaction). `build` gives the data-modifying CTEs (`name AS (…)`), each of which
   * puts `guard` in its WHERE, and a query over them whose rows come back.
   *
   * Under the lock, the statement starts with the `fence` CTE: it locks the fence row (FOR
   * UPDATE, exactly as the transaction with a separate fence check did: a run that claims the
   * lock concurrently waits for this statement, or this statement re-reads the row after it and
   * sees the new token) and tells whether the token is still ours and our lock session still
   * holds the advisory lock. The guard makes every write of the statement a no-op otherwise, so a
   * run that lost its lock writes nothing, and the fence columns it returns turn into the error.
   */
  private async write<R extends pg.QueryResultRow>(
    build: (p: Params, guard: string) => { with: string; select: string },
    options: { durable?: boolean } = {},
  ): Promise<R[]> {
    const fence = this.fence;
    if (lostLock(fence)) throw fence?.lock.lost.reason;
    const p = new Params();
    const ctes: string[] = [];
    const columns: string[] = [];
    let guard = 'true';
    if (fence !== null) {
      ctes.push(
        `fence AS (SELECT token::text AS token, ${lockHeldBy(p.p(LOCK_CLASS), p.p(fence.lock.schema), p.p(fence.lock.backendPid))} AS held FROM ${this.t('lock_fence')} FOR UPDATE)`,
      );
      columns.push('(SELECT token FROM fence) AS fence_token', '(SELECT held FROM fence) AS fence_held');
      guard = `EXISTS (SELECT 1 FROM fence WHERE token = ${p.p(fence.token)} AND held)`;
    }
    if (options.durable === false) {
      // This statement's commit does not wait for the WAL flush (SET LOCAL synchronous_commit =
      // off, as a function so it fits in the statement). Visible at once and kept when leapfrog
      // is killed; only a crash of the server itself before the WAL writer flushes it (at most
      // three wal_writer_delay, 600 ms by default) can lose it, and the next durable write
      // flushes it too (the WAL is flushed in order).
      ctes.push(`async_commit AS (SELECT set_config('synchronous_commit', 'off', true) AS off)`);
      columns.push('(SELECT off FROM async_commit) AS async_commit');
    }
    const { with: writes, select } = build(p, guard);
    ctes.push(writes);
    // Left-joined to one row, so the fence's columns come back even when the write's query has none.
    const sql = `WITH ${ctes.join(',\n')}
      SELECT ${[...columns, 'x.*'].join(', ')} FROM (SELECT 1) AS one LEFT JOIN (${select}) AS x ON true`;
    let rows: (R & FenceColumns)[];
    try {
      rows = (await (await this.live()).query<R & FenceColumns>(prepared(sql, p.values))).rows;
    } catch (error) {
      // A write that failed because the lock went says that, not "connection terminated".
      if (lostLock(fence)) throw fence?.lock.lost.reason;
      throw error;
    }
    if (fence !== null) this.checkFence(fence, rows[0]);
    return rows;
  }

  /** Turns the fence columns of a write into the error, when the write was refused (and so wrote nothing). */
  private checkFence(fence: Fence, row: FenceColumns | undefined): void {
    const token = row?.fence_token ?? null;
    if (token !== fence.token) {
      throw lockLostError(
        this.display(),
        `another run took the lock since (fencing token ${fence.token}, now ${token ?? 'none'})`,
      );
    }
    if (row?.fence_held !== true)
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
    // One statement (one round trip): the new token is written only while the lock session
    // still holds the advisory lock, and the statement says which happened.
    const { rows } = await (
      await this.live()
    ).query<{ held: boolean; token: string | null }>(
      `WITH lock_held AS (SELECT ${LOCK_HELD_BY} AS held),
       claimed AS (
         INSERT INTO ${this.t('lock_fence')} (singleton, token, holder, lock_backend_pid)
           SELECT true, 1, $4::text, $3::int WHERE (SELECT held FROM lock_held)
         ON CONFLICT (singleton) DO UPDATE SET token = ${this.t('lock_fence')}.token + 1, holder = EXCLUDED.holder,
           lock_backend_pid = EXCLUDED.lock_backend_pid, run_id = NULL, acquired_at = now()
         RETURNING token::text AS token)
       SELECT (SELECT held FROM lock_held) AS held, (SELECT token FROM claimed) AS token`,
      [LOCK_CLASS, lock.schema, lock.backendPid, holder],
    );
    if (rows[0]?.held !== true || rows[0].token === null)
      throw lockLostError(this.display(), 'the lock session no longer holds the advisory lock');
    this.fence = { lock, token: rows[0].token };
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
    await this.write((p, guard) => ({
      with: this.upsertState(p, guard, release, NEW_EPISODE),
      select: 'SELECT 1',
    }));
  }

  /**
   * The CTE that moves the current release (INSERT … SELECT, so the guard can hold it back). Setting
   * the release (`newEpisode`: baseline, adopting) starts a new episode, so that no phase record
   * written before it counts for resuming; an advance at the end of a step keeps the episode, in
   * which the release has only moved forward, so each hop has been visited once.
   */
  private upsertState(p: Params, guard: string, release: ReleaseRef, newEpisode: boolean): string {
    return `state_set AS (
      INSERT INTO ${this.t('state')} (singleton, release, version, updated_at, episode)
        SELECT true, ${p.p(release.release)}::text, ${p.p(release.version)}::text, now(), ${p.p(randomUUID())}::uuid
        WHERE ${guard}
      ON CONFLICT (singleton) DO UPDATE SET release = EXCLUDED.release, version = EXCLUDED.version, updated_at = now()${newEpisode ? ', episode = EXCLUDED.episode' : ''}
      RETURNING 1)`;
  }

  async startRun(run: NewRun): Promise<RunRecord> {
    const rows = await this.write<RunRow>((p, guard) => {
      const inserted = `run AS (
        INSERT INTO ${this.t('runs')} (id, plan_digest, from_release, from_version, to_release, to_version, mode, host, pid, status)
        SELECT ${p.p(randomUUID())}::uuid, ${p.p(run.planDigest)}::text, ${p.p(run.from.release)}::text,
          ${p.p(run.from.version)}::text, ${p.p(run.to.release)}::text, ${p.p(run.to.version)}::text,
          ${p.p(run.mode)}::text, ${p.p(run.host)}::text, ${p.p(run.pid)}::int, 'running'
        WHERE ${guard}
        RETURNING *)`;
      // The fence names the run that holds the lock, for whoever looks at the ledger.
      const named = `named AS (UPDATE ${this.t('lock_fence')} SET run_id = (SELECT id FROM run) WHERE ${guard} RETURNING 1)`;
      return { with: this.fence === null ? inserted : `${inserted}, ${named}`, select: 'SELECT * FROM run' };
    }, NOT_DURABLE);
    return runOf(rows[0] as RunRow);
  }

  async finishRun(runId: string, status: Exclude<RunStatus, 'running'>): Promise<void> {
    await this.write((p, guard) => ({
      with: `finished AS (UPDATE ${this.t('runs')} SET status = ${p.p(status)}, finished_at = now()
        WHERE id = ${p.p(runId)}::uuid AND ${guard} RETURNING 1)`,
      select: 'SELECT 1',
    }));
  }

  async closeAbandonedRuns(): Promise<number> {
    // Phases a killed process left running are not succeeded, so they run again; say so.
    const rows = await this.write<{ closed: number }>((_p, guard) => ({
      with: `closed AS (UPDATE ${this.t('runs')} SET status = 'interrupted', finished_at = now()
          WHERE status = 'running' AND ${guard} RETURNING 1),
        phases_closed AS (UPDATE ${this.t('phases')} SET status = 'interrupted', finished_at = now()
          WHERE status = 'running' AND ${guard} RETURNING 1)`,
      select: 'SELECT count(*)::int AS closed FROM closed',
    }));
    return rows[0]?.closed ?? 0;
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
    // Only a record of the current episode counts (ledger migration 4): one written before the
    // release was last set belongs to an earlier visit of this hop, whose work a baseline has
    // since taken back (a restore brings back the dump's own rows and episode). The same single
    // read, joined to the state row.
    const { rows } = await this.read<PhaseRow>(
      `SELECT p.* FROM ${this.t('phases')} AS p JOIN ${this.t('state')} AS s ON ${CURRENT_EPISODE}
        WHERE p.from_release = $1 AND p.release = $2 AND p.phase = $3 AND p.name = $4`,
      [key.fromRelease, key.release, key.phase, key.name],
    );
    return rows[0] === undefined ? null : phaseOf(rows[0]);
  }

  async hopPhases(hop: Pick<PhaseKey, 'fromRelease' | 'release'>): Promise<PhaseRecord[]> {
    const { rows } = await this.read<PhaseRow>(
      `SELECT p.* FROM ${this.t('phases')} AS p JOIN ${this.t('state')} AS s ON ${CURRENT_EPISODE}
        WHERE p.from_release = $1 AND p.release = $2`,
      [hop.fromRelease, hop.release],
    );
    return rows.map(phaseOf);
  }

  async startPhase(key: PhaseKey, runId: string, planDigest: string, previous?: FinishedPhase): Promise<void> {
    await this.write((p, guard) => {
      const started = `started AS (
        INSERT INTO ${this.t('phases')} (run_id, plan_digest, from_release, release, phase, name, status, attempts, started_at, episode)
        SELECT ${p.p(runId)}::uuid, ${p.p(planDigest)}::text, ${p.p(key.fromRelease)}::text, ${p.p(key.release)}::text,
          ${p.p(key.phase)}::text, ${p.p(key.name)}::text, 'running', 1, now(), (SELECT episode FROM ${this.t('state')})
        WHERE ${guard}
        ON CONFLICT (from_release, release, phase, name) DO UPDATE SET
          run_id = EXCLUDED.run_id, plan_digest = EXCLUDED.plan_digest, status = 'running',
          attempts = CASE WHEN ${this.t('phases')}.episode = EXCLUDED.episode THEN ${this.t('phases')}.attempts + 1 ELSE 1 END,
          started_at = now(), finished_at = NULL, exit_code = NULL,
          episode = EXCLUDED.episode
        RETURNING 1)`;
      // Two rows of one table, each written once: the statement may modify both.
      return {
        with: previous === undefined ? started : `${this.finishedCte(p, guard, previous)}, ${started}`,
        select: 'SELECT 1',
      };
    }, NOT_DURABLE);
  }

  async finishPhase(key: PhaseKey, result: PhaseResultRecord, advanceTo?: ReleaseRef): Promise<void> {
    // The phase's record and the release's advance are one statement: both or neither. Only the
    // advance waits for the disk (see NOT_DURABLE): a phase result lost to a server crash
    // re-runs that phase, which the protocols make safe; a lost advance would not be seen.
    await this.write(
      (p, guard) => {
        const finished = this.finishedCte(p, guard, { key, result });
        return {
          with:
            advanceTo === undefined ? finished : `${finished}, ${this.upsertState(p, guard, advanceTo, !NEW_EPISODE)}`,
          select: 'SELECT 1',
        };
      },
      advanceTo === undefined ? NOT_DURABLE : DURABLE,
    );
  }

  /** The CTE `finished` that records a phase's result. */
  private finishedCte(p: Params, guard: string, { key, result }: FinishedPhase): string {
    return `finished AS (
        UPDATE ${this.t('phases')} SET status = ${p.p(result.status)}, exit_code = ${p.p(result.exitCode)}::int,
          output_tail = ${p.p(result.outputTail.join('\n'))}, duration_ms = ${p.p(Math.round(result.durationMs))}::bigint,
          rows_migrated = ${p.p(result.rowsMigrated)}::bigint,
          details = ${p.p(result.details === null ? null : JSON.stringify(result.details))}::jsonb, finished_at = now()
        WHERE from_release = ${p.p(key.fromRelease)} AND release = ${p.p(key.release)} AND phase = ${p.p(key.phase)}
          AND name = ${p.p(key.name)} AND ${guard}
        RETURNING 1)`;
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
    const rows = await this.write<BackupRow>((p, guard) => ({
      with: `backup AS (
        INSERT INTO ${this.t('backups')} (id, release, version, path, format, bytes, sha256, duration_ms, run_id,
          database_id, system_identifier, database_name)
        SELECT ${p.p(randomUUID())}::uuid, ${p.p(backup.release)}::text, ${p.p(backup.version)}::text,
          ${p.p(backup.path)}::text, ${p.p(backup.format)}::text, ${p.p(backup.bytes)}::bigint, ${p.p(backup.sha256)}::text,
          ${p.p(Math.round(backup.durationMs))}::bigint, ${p.p(backup.runId)}::uuid,
          coalesce(${p.p(backup.databaseId ?? null)}::uuid, (SELECT database_id FROM ${this.t('identity')})),
          ${p.p(backup.systemIdentifier ?? null)}::text, ${p.p(backup.databaseName ?? null)}::text
        WHERE ${guard}
        RETURNING *)`,
      select: 'SELECT * FROM backup',
    }));
    return backupOf(rows[0] as BackupRow);
  }

  async backups(): Promise<BackupRecord[]> {
    const { rows } = await this.read<BackupRow>(`SELECT * FROM ${this.t('backups')} ORDER BY created_at, id`);
    return rows.map(backupOf);
  }

  [Symbol.asyncDispose](): Promise<void> {
    if (this.keepAlive !== null) clearInterval(this.keepAlive);
    endSession(this.client, 'the ledger session');
    return Promise.resolve();
  }
}

/**
 * For the writes within a run that no resume depends on seeing (a run or a phase started, a
 * phase's result that does not move the release): their commit does not wait for the disk.
 * Killing leapfrog loses none of them (the server has them); losing one takes a crash of the
 * database server itself before its WAL writer flushes (at most three wal_writer_delay), and
 * then changes only how much a resume repeats: a phase not recorded as succeeded runs again, as
 * an interrupted one does, and the phase protocols make running a phase again safe. Every write
 * that moves the release (the step's last phase, a baseline) or ends a run waits for the disk, and
 * flushes all of these with it: the WAL is flushed in order.
 */
const NOT_DURABLE = { durable: false } as const;
const DURABLE = { durable: true } as const;

/** `upsertState`'s flag, named at the call. */
const NEW_EPISODE = true;

/**
 * The join condition of phase rows `p` to the state row `s`: the row was recorded in the current
 * episode (since the release was last set by a baseline). Written through to_jsonb because
 * read-only verbs (status, apply --dry-run) do not migrate the ledger: one that predates
 * migration 4 has no episode columns, and there the rule is the one migration 4 fills them by
 * (started since the state row was last written). Costs about 0.1 ms per read (measured).
 */
const CURRENT_EPISODE = `CASE WHEN to_jsonb(s) ? 'episode' THEN (to_jsonb(p) ->> 'episode') = (to_jsonb(s) ->> 'episode')
  ELSE p.started_at >= s.updated_at END`;

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

/**
 * A named (prepared) statement: the server parses each of the ledger's statement shapes once
 * per session instead of at every phase (measured 0.75 -> 0.37 ms for the phase read). The name
 * is a digest of the text, so a shape never meets another's plan; pg keeps names per connection,
 * and a replaced connection prepares again. (The ledger needs a session-level connection anyway:
 * its advisory lock does.)
 */
function prepared(text: string, values: unknown[]): pg.QueryConfig {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `leapfrog_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return { name, text, values };
}
/** Statement text -> name: a few dozen shapes per ledger schema, hashed once per process. */
const statementNames = new Map<string, string>();
