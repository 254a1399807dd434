// Issue 10 (performance) without weakening issue 9's fence: every ledger write is ONE statement
// (one round trip, atomic on its own) whose WHERE checks the fencing token under the fence row's
// lock. These tests hold the ledger to both halves: one statement per write, and a write racing
// another run's claim is refused and writes nothing.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrateLedger } from '../../src/ledger/migrations.js';
import { PostgresLedger } from '../../src/ledger/postgres-ledger.js';
import { LockLostError } from '../../src/ledger/lock-lost-error.js';
import type { PhaseKey } from '../../src/ledger/ledger.js';
import { LockSession, type LedgerLock } from '../../src/ledger/ledger-lock.js';
import { databaseTargetFromUrl } from '../../src/pg/database-target.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const KEY = { fromRelease: '2023.1', release: '2023.2', phase: 'schema', name: 'db' } as const;
const RESULT = {
  status: 'succeeded',
  exitCode: 0,
  outputTail: ['line 1', "it's done \\ ok"],
  durationMs: 12.4,
  rowsMigrated: 3,
  details: { message: 'ok' },
} as const;

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

/** A real session holding leapfrog's advisory lock, as acquireLedgerLock leaves it. */
async function heldLock(db: TestDatabase): Promise<{ lock: LedgerLock; session: pg.Client }> {
  const session = await client(db.url);
  await session.query("SELECT pg_advisory_lock(x'4c46'::int, hashtext('leapfrog'))");
  const pid = (await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? 0;
  const release = async () => {
    await session.end().catch(() => undefined);
  };
  return {
    lock: {
      backendPid: pid,
      schema: 'leapfrog',
      lost: new AbortController().signal,
      release,
      [Symbol.asyncDispose]: release,
    },
    session,
  };
}

/** A ledger on a client whose statements are counted (the real client; only counted). */
async function countedLedger(db: TestDatabase): Promise<{ ledger: PostgresLedger; statements: string[] }> {
  const c = await client(db.url);
  await migrateLedger(c, 'leapfrog');
  const statements: string[] = [];
  const query = c.query.bind(c) as (...args: unknown[]) => unknown;
  (c as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    // The ledger sends named statements ({ name, text, values }); count their text.
    const first = args[0] as string | { text?: string };
    statements.push(typeof first === 'string' ? first : (first.text ?? 'config'));
    return query(...args);
  };
  return { ledger: new PostgresLedger(c, 'leapfrog'), statements };
}

describe('ledger writes', () => {
  it('are one statement each under the fence, and record what the transaction-per-write ledger recorded', async () => {
    await using db = await createTestDatabase('one_stmt');
    const { ledger, statements } = await countedLedger(db);
    await using _ledger = ledger;
    const { lock } = await heldLock(db);
    await using _lock = lock;
    await ledger.claimFence(lock, 'test');
    const writes: [string, () => Promise<unknown>][] = [];
    let runId = '';
    writes.push(['setCurrentRelease', () => ledger.setCurrentRelease({ release: '2023.1', version: '2023.1.0' })]);
    writes.push([
      'startRun',
      async () => {
        const run = await ledger.startRun({
          planDigest: 'sha256:x',
          from: { release: '2023.1', version: '1' },
          to: { release: '2023.2', version: '2' },
          mode: 'apply',
          host: 'h',
          pid: 7,
        });
        runId = run.id;
        expect(run).toMatchObject({ status: 'running', pid: 7, mode: 'apply', planDigest: 'sha256:x' });
        expect(run.startedAt).toBeInstanceOf(Date);
      },
    ]);
    writes.push(['startPhase', () => ledger.startPhase(KEY, runId, 'sha256:x')]);
    writes.push(['startPhase again', () => ledger.startPhase(KEY, runId, 'sha256:x')]);
    writes.push(['finishPhase', () => ledger.finishPhase(KEY, RESULT)]);
    // The runner's path between two phases: the earlier result and the next start, one statement.
    const NEXT: PhaseKey = { ...KEY, phase: 'data', name: 'data' };
    writes.push([
      'startPhase with the result before it',
      () => ledger.startPhase(NEXT, runId, 'sha256:x', { key: KEY, result: RESULT }),
    ]);
    writes.push([
      'finishPhase + advance',
      () => ledger.finishPhase(KEY, RESULT, { release: '2023.2', version: '2023.2.0' }),
    ]);
    writes.push([
      'recordBackup',
      () =>
        ledger.recordBackup({
          release: '2023.1',
          version: '2023.1.0',
          path: '/b/x.dump',
          format: 'custom',
          bytes: 10,
          sha256: 'abc',
          durationMs: 5,
          runId,
        }),
    ]);
    writes.push(['finishRun', () => ledger.finishRun(runId, 'succeeded')]);
    writes.push(['closeAbandonedRuns', () => ledger.closeAbandonedRuns()]);
    const asyncCommit: string[] = [];
    for (const [name, write] of writes) {
      const before = statements.length;
      await write();
      expect({ name, statements: statements.length - before }).toEqual({ name, statements: 1 });
      if (statements.at(-1)?.includes("set_config('synchronous_commit', 'off', true)") === true) asyncCommit.push(name);
    }
    // Only the writes no resume depends on (a start, a result that does not move the release) skip
    // the wait for the disk; moving the release, a backup and a run's end always wait. The
    // setting is the statement's own: the session keeps the default.
    expect(asyncCommit).toEqual([
      'startRun',
      'startPhase',
      'startPhase again',
      'finishPhase',
      'startPhase with the result before it',
    ]);
    // Started by the combined write, then closed as interrupted by closeAbandonedRuns (the last write).
    expect(await ledger.phase(NEXT)).toMatchObject({ status: 'interrupted', attempts: 1, runId });

    const session = await ledger.sqlProbe([]).query('SHOW synchronous_commit', 1000);
    expect(session.rows).toEqual([{ synchronous_commit: 'on' }]);
    const phase = await ledger.phase(KEY);
    expect(phase).toMatchObject({
      status: 'succeeded',
      attempts: 2,
      exitCode: 0,
      outputTail: ['line 1', "it's done \\ ok"],
      durationMs: 12,
      rowsMigrated: 3,
      details: { message: 'ok' },
    });
    expect(await ledger.currentRelease()).toMatchObject({ release: '2023.2', version: '2023.2.0' });
    expect(await ledger.lastRun()).toMatchObject({ id: runId, status: 'succeeded' });
    const [backup] = await ledger.backups();
    expect(backup?.databaseId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await db.query('SELECT run_id::text AS run FROM leapfrog.lock_fence')).toEqual([{ run: runId }]);
  });

  it('a write waiting on the fence row while another run claims the lock is refused and writes nothing', async () => {
    await using db = await createTestDatabase('fence_race');
    const { ledger } = await countedLedger(db);
    await using _ledger = ledger;
    const { lock } = await heldLock(db);
    await ledger.claimFence(lock, 'first');
    await ledger.setCurrentRelease({ release: '2023.1', version: '2023.1.0' });
    const run = await ledger.startRun({
      planDigest: 'sha256:x',
      from: { release: '2023.1', version: '1' },
      to: { release: '2023.2', version: '2' },
      mode: 'apply',
      host: 'h',
      pid: 1,
    });
    await ledger.startPhase(KEY, run.id, 'sha256:x');

    // Another run mid-claim: it holds the fence row and has moved the token, not yet committed.
    const other = await client(db.url);
    await other.query('BEGIN');
    await other.query('UPDATE leapfrog.lock_fence SET token = token + 1');
    const write = ledger.finishPhase(KEY, RESULT, { release: '2023.2', version: '2023.2.0' }).catch((e: unknown) => e);
    // The write must be waiting on the fence row, not done.
    await new Promise((r) => setTimeout(r, 300));
    const waiting = await db.query<{ n: string }>(
      "SELECT count(*)::text AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
    );
    expect(waiting).toEqual([{ n: '1' }]);
    await other.query('COMMIT');
    await other.end();

    const error = await write;
    expect(error).toBeInstanceOf(LockLostError);
    expect((error as Error).message).toMatch(/another run took the lock since \(fencing token 1, now 2\)/);
    expect(
      await db.query(
        'SELECT (SELECT release FROM leapfrog.state) AS release, (SELECT status FROM leapfrog.phases) AS status',
      ),
    ).toEqual([{ release: '2023.1', status: 'running' }]);
    await lock.release();
  });

  it('the lock session connects when created, takes the lock only when asked, and unused closes without locking', async () => {
    await using db = await createTestDatabase('lock_session');
    const target = databaseTargetFromUrl(db.url);
    const sessions = () =>
      db.query<{ app: string; locks: string }>(
        `SELECT a.application_name AS app,
                (SELECT count(*) FROM pg_locks l WHERE l.pid = a.pid AND l.locktype = 'advisory')::text AS locks
           FROM pg_stat_activity a WHERE a.datname = current_database() AND a.application_name LIKE 'leapfrog %'`,
      );
    const waitFor = async (n: number) => {
      for (let i = 0; i < 200 && (await sessions()).length !== n; i += 1) await new Promise((r) => setTimeout(r, 25));
      return sessions();
    };
    {
      // A run the guards refuse: connected meanwhile, never locked, closed.
      await using unused = new LockSession(target);
      expect(await waitFor(1)).toEqual([{ app: expect.stringMatching(/^leapfrog .+ pid \d+$/) as string, locks: '0' }]);
      void unused;
    }
    expect(await waitFor(0)).toEqual([]);

    const session = new LockSession(target);
    expect(await waitFor(1)).toMatchObject([{ locks: '0' }]);
    const lock = await session.acquire({ schema: 'leapfrog', timeoutMs: 1000 });
    expect(await sessions()).toMatchObject([{ locks: '1' }]);
    expect(lock.backendPid).toBeGreaterThan(0);
    // Disposing the session after acquire leaves the lock to its owner.
    await session[Symbol.asyncDispose]();
    expect(await sessions()).toMatchObject([{ locks: '1' }]);
    await lock.release();
    expect(await waitFor(0)).toEqual([]);
  });
});
