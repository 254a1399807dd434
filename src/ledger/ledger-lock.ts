import { hostname } from 'node:os';
import type pg from 'pg';
import { InterruptedError, LockHeldError } from '../errors/index.js';
import type { DatabaseTarget } from '../pg/database-target.js';
import { connectClient, endSession } from '../pg/connect.js';
import { redact } from '../util/redact.js';
import { nextCommand } from '../util/next-command.js';
import { logger } from '../util/logger.js';
import { LockLostError } from './lock-lost-error.js';

const log = logger('ledger');

/** First key of leapfrog's advisory locks ("LF"); the second is the hash of the ledger schema. */
const LOCK_CLASS = 0x4c46;

export interface LedgerLock extends AsyncDisposable {
  /** The backend pid of the session that holds the lock: the ledger's fence checks it is alive. */
  readonly backendPid: number;
  /** The key the lock is taken on (class, hashtext(schema)), for the fence's pg_locks check. */
  readonly schema: string;
  /** Aborted, with a LockLostError as its reason, as soon as the lock session is seen gone. */
  readonly lost: AbortSignal;
  release(): Promise<void>;
}

export interface LockHolder {
  host: string | null;
  pid: number | null;
  since: Date | null;
  plan: string | null;
  backendPid: number | null;
  applicationName: string | null;
}

export interface AcquireLockOptions {
  schema: string;
  timeoutMs: number;
  pollMs?: number;
  signal?: AbortSignal;
  /** How often the held lock is checked (and the session kept busy); default 1 s. */
  keepAliveMs?: number;
}

/**
 * Takes the session advisory lock on a connection of its own, held for the whole run: if the
 * process dies, PostgreSQL ends the session and the lock goes with it, so a crash never leaves
 * the database locked. Polls `pg_try_advisory_lock` rather than blocking, so the wait is bounded
 * by --lock-timeout and the holder can be named.
 */
export async function acquireLedgerLock(target: DatabaseTarget, options: AcquireLockOptions): Promise<LedgerLock> {
  return new LockSession(target).acquire(options);
}

/**
 * The lock's own session, connecting from the moment it is created. The run pipeline creates it
 * beside the ledger session, so the two connections (TCP, authentication, session settings)
 * overlap instead of following each other, and takes the lock on it only after the guards passed:
 * a database the guards refuse is never locked, and the unused session is closed on dispose.
 */
export class LockSession implements AsyncDisposable {
  readonly #connecting: Promise<pg.Client>;
  #used = false;

  constructor(private readonly target: DatabaseTarget) {
    this.#connecting = connectClient(target, applicationName());
    // A failed connect is reported by acquire(); unused, it is only logged on dispose.
    this.#connecting.catch(() => undefined);
  }

  /** Takes the lock on this session; from here the session belongs to the returned lock. */
  async acquire(options: AcquireLockOptions): Promise<LedgerLock> {
    this.#used = true;
    return lockOn(await this.#connecting, this.target, options);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#used) return;
    this.#used = true;
    try {
      endSession(await this.#connecting, 'the unused lock session');
    } catch (error) {
      log.suppressed('connecting the unused lock session', error);
    }
  }
}

async function lockOn(client: pg.Client, target: DatabaseTarget, options: AcquireLockOptions): Promise<LedgerLock> {
  const deadline = Date.now() + options.timeoutMs;
  const pollMs = options.pollMs ?? 200;
  let backendPid = 0;
  try {
    for (;;) {
      // The backend pid comes with the attempt: the fence names the session that holds the lock.
      const { rows } = await client.query<{ ok: boolean; pid: number }>(
        'SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok, pg_backend_pid() AS pid',
        [LOCK_CLASS, options.schema],
      );
      backendPid = rows[0]?.pid ?? 0;
      if (rows[0]?.ok === true) break;
      if (options.signal?.aborted === true) {
        throw new InterruptedError('interrupted while waiting for the ledger lock; nothing ran', {
          hint: 'run the command again when you are ready',
        });
      }
      if (Date.now() >= deadline) {
        const holder = await describeHolder(client, options.schema);
        throw lockHeldError(target, holder, options.timeoutMs);
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, Math.max(0, deadline - Date.now()))));
    }
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  const lost = new AbortController();
  let released = false;
  const lose = (cause: string) => {
    if (released || lost.signal.aborted) return;
    lost.abort(lockLostError(target.display, redact(cause, target.secrets)));
  };
  client.on('error', (error: Error) => lose(error.message));
  client.on('end', () => lose('the server closed the lock session'));
  // A query every second keeps the session from looking idle to anything between us and the
  // server, and notices a lock that is gone even when the socket is not (a pooler, a proxy).
  const keepAlive = setInterval(() => {
    client
      .query<{ held: boolean }>(`SELECT ${HELD_BY_ME} AS held`, [LOCK_CLASS, options.schema])
      .then(({ rows }) => {
        if (rows[0]?.held !== true) lose('the server no longer shows the advisory lock held by this session');
      })
      .catch((error: unknown) => lose(error instanceof Error ? error.message : String(error)));
  }, options.keepAliveMs ?? 1000);
  keepAlive.unref();
  const release = async () => {
    if (released) return;
    released = true;
    clearInterval(keepAlive);
    try {
      if (!lost.signal.aborted)
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, options.schema]);
    } finally {
      // Ending the session releases the lock even if the unlock query failed.
      endSession(client, 'the lock session');
    }
  };
  return { backendPid, schema: options.schema, lost: lost.signal, release, [Symbol.asyncDispose]: release };
}

/** SQL: whether the calling session holds leapfrog's advisory lock on schema $2 (class $1). */
const HELD_BY_ME = `EXISTS (SELECT 1 FROM pg_locks l
   WHERE l.locktype = 'advisory' AND l.granted AND l.pid = pg_backend_pid()
     AND l.classid = $1::oid AND l.objsubid = 2 AND l.objid = (hashtext($2)::bigint & 4294967295)::oid)`;

/** SQL: whether backend `pid` holds leapfrog's advisory lock on schema `schema` (class `cls`); placeholders in. */
export function lockHeldBy(cls: string, schema: string, pid: string): string {
  return `EXISTS (SELECT 1 FROM pg_locks l
   WHERE l.locktype = 'advisory' AND l.granted AND l.pid = ${pid}::int
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND l.classid = ${cls}::oid AND l.objsubid = 2 AND l.objid = (hashtext(${schema}::text)::bigint & 4294967295)::oid)`;
}

/** SQL: whether backend $3 holds leapfrog's advisory lock on schema $2 (class $1). */
export const LOCK_HELD_BY = lockHeldBy('$1', '$2', '$3');

export { LOCK_CLASS };

export function lockLostError(display: string, cause: string): LockLostError {
  return new LockLostError(
    `lost the ledger lock on ${display}: ${cause}; leapfrog stopped the run (and its phase command) and recorded nothing further`,
    {
      hint: `check that the database is reachable and that no other run is going (\`${nextCommand('status')}\`), then run the command again: it resumes at the first phase not recorded as succeeded`,
      details: { target: display, cause },
    },
  );
}

function applicationName(): string {
  return `leapfrog ${hostname()} pid ${process.pid}`.slice(0, 63);
}

export async function describeHolder(client: pg.ClientBase, schema: string): Promise<LockHolder> {
  const holder: LockHolder = {
    host: null,
    pid: null,
    since: null,
    plan: null,
    backendPid: null,
    applicationName: null,
  };
  const session = await client.query<{ pid: number; application_name: string; backend_start: Date }>(
    `SELECT a.pid, a.application_name, a.backend_start
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = $1::oid AND l.objsubid = 2
        AND l.objid = (hashtext($2)::bigint & 4294967295)::oid
      LIMIT 1`,
    [LOCK_CLASS, schema],
  );
  const s = session.rows[0];
  if (s !== undefined) {
    holder.backendPid = s.pid;
    holder.applicationName = s.application_name;
    holder.since = s.backend_start;
    const m = /^leapfrog (.+) pid (\d+)$/.exec(s.application_name);
    if (m) {
      holder.host = m[1] ?? null;
      holder.pid = Number(m[2]);
    }
  }
  const exists = await client.query<{ ok: boolean }>('SELECT to_regclass($1) IS NOT NULL AS ok', [`"${schema}".runs`]);
  if (exists.rows[0]?.ok === true) {
    const run = await client.query<{
      host: string;
      pid: number;
      started_at: Date;
      plan_digest: string;
      from_release: string;
      to_release: string;
    }>(
      `SELECT host, pid, started_at, plan_digest, from_release, to_release FROM "${schema}".runs
        WHERE status = 'running' ORDER BY started_at DESC LIMIT 1`,
    );
    const r = run.rows[0];
    // Trust the run row only when it belongs to the session that holds the lock.
    if (r !== undefined && (holder.pid === null || holder.pid === r.pid)) {
      holder.host = r.host;
      holder.pid = r.pid;
      holder.since = r.started_at;
      holder.plan = `${r.from_release} -> ${r.to_release} (${r.plan_digest.slice(0, 19)})`;
    }
  }
  return holder;
}

function lockHeldError(target: DatabaseTarget, holder: LockHolder, timeoutMs: number): LockHeldError {
  const who = holder.pid === null ? 'another session' : `leapfrog on host ${holder.host ?? '?'} (pid ${holder.pid})`;
  const since = holder.since === null ? '' : ` since ${holder.since.toISOString()}`;
  const plan = holder.plan === null ? '' : `, running plan ${holder.plan}`;
  return new LockHeldError(
    `another run holds the ledger lock on ${target.display}: ${who}${since}${plan}; waited ${timeoutMs} ms`,
    {
      hint: `wait for it to finish (\`${nextCommand('status')}\` shows its progress), or raise --lock-timeout; if that process is gone, its session ends and the lock with it`,
      details: {
        holder: {
          host: holder.host,
          pid: holder.pid,
          since: holder.since?.toISOString() ?? null,
          plan: holder.plan,
          backendPid: holder.backendPid,
        },
      },
    },
  );
}
