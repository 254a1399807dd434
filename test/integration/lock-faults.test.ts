// Issue 9, item 8: the fencing token. A run whose lock session the server ended can never write
// the ledger again, whatever its process believes; and a ledger read reconnects after a drop.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { acquireLedgerLock, type LedgerLock } from '../../src/ledger/ledger-lock.js';
import { LockLostError } from '../../src/ledger/lock-lost-error.js';
import { openPostgresLedger } from '../../src/ledger/open-ledger.js';
import type { PostgresLedger } from '../../src/ledger/postgres-ledger.js';
import { databaseTargetFromUrl } from '../../src/pg/database-target.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const KEY = { fromRelease: '2023.1', release: '2023.2', phase: 'data', name: 'data' } as const;
const RESULT = {
  status: 'succeeded',
  exitCode: 0,
  outputTail: [],
  durationMs: 1,
  rowsMigrated: 1,
  details: null,
} as const;

/**
 * A lock held by a plain session whose watcher never fires: what a run sees in the moment between
 * losing its session and noticing, so only the fence in the database stands between it and a write.
 */
async function blindLock(url: string): Promise<{ lock: LedgerLock; client: pg.Client }> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  await client.query("SELECT pg_advisory_lock(x'4c46'::int, hashtext('leapfrog'))");
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? 0;
  const release = async () => {
    await client.end().catch(() => undefined);
  };
  return {
    lock: {
      backendPid: pid,
      schema: 'leapfrog',
      lost: new AbortController().signal,
      release,
      [Symbol.asyncDispose]: release,
    },
    client,
  };
}

async function openLedger(db: TestDatabase): Promise<PostgresLedger> {
  const ledger = await openPostgresLedger(databaseTargetFromUrl(db.url), { schema: 'leapfrog', migrate: true });
  if (ledger === null) throw new Error('no ledger');
  return ledger;
}

async function terminate(db: TestDatabase, pid: number): Promise<void> {
  await db.query('SELECT pg_terminate_backend($1)', [pid]);
  // pg_terminate_backend only signals; wait until the backend (and its lock) is gone.
  for (
    let i = 0;
    i < 100 && (await db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).length > 0;
    i += 1
  ) {
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the ledger fence', () => {
  it('refuses every write of a run whose lock session is gone, and of a run another has since fenced off', async () => {
    await using db = await createTestDatabase('fence');
    await using first = await openLedger(db);
    const a = await blindLock(db.url);
    await first.claimFence(a.lock, 'test a');
    await first.setCurrentRelease({ release: '2023.1', version: '2023.1.0' });
    const run = await first.startRun({
      planDigest: 'sha256:x',
      from: { release: '2023.1', version: '1' },
      to: { release: '2023.2', version: '2' },
      mode: 'apply',
      host: 'h',
      pid: 1,
    });
    await first.startPhase(KEY, run.id, 'sha256:x');

    await terminate(db, a.lock.backendPid);
    // The lock is gone but nobody else took it: still no write.
    await expect(first.finishPhase(KEY, RESULT, { release: '2023.2', version: '2023.2.0' })).rejects.toThrow(
      LockLostError,
    );
    await expect(first.finishPhase(KEY, RESULT)).rejects.toThrow(/no longer holds the advisory lock/);

    // A second run takes the lock and a new token; the first cannot write even if its lock
    // session's pid were somehow alive again.
    await using second = await openLedger(db);
    const b = await blindLock(db.url);
    await second.claimFence(b.lock, 'test b');
    await expect(first.finishRun(run.id, 'failed')).rejects.toThrow(
      /another run took the lock since \(fencing token 1, now 2\)/,
    );
    await expect(first.setCurrentRelease({ release: '2024.1', version: '1' })).rejects.toThrow(LockLostError);
    expect(await second.closeAbandonedRuns()).toBe(1);
    await b.client.end();

    const rows = await db.query<{ release: string; status: string }>(
      'SELECT release, (SELECT status FROM leapfrog.phases) AS status FROM leapfrog.state',
    );
    expect(rows).toEqual([{ release: '2023.1', status: 'interrupted' }]);
    const err = await first
      .startRun({
        planDigest: 'x',
        from: { release: 'a', version: '1' },
        to: { release: 'b', version: '2' },
        mode: 'apply',
        host: 'h',
        pid: 1,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockLostError);
    expect((err as LockLostError).exitCode).toBe(4);
  });

  it('watches the lock session: terminating it aborts `lost` with "lost the ledger lock" naming the target', async () => {
    await using db = await createTestDatabase('lock_watch');
    const target = databaseTargetFromUrl(db.url);
    const lock = await acquireLedgerLock(target, { schema: 'leapfrog', timeoutMs: 1000 });
    try {
      const lost = new Promise<unknown>((resolve) =>
        lock.lost.addEventListener('abort', () => resolve(lock.lost.reason)),
      );
      await db.query('SELECT pg_terminate_backend($1)', [lock.backendPid]);
      const reason = await lost;
      expect(reason).toBeInstanceOf(LockLostError);
      expect((reason as Error).message).toContain(`lost the ledger lock on ${target.display}: `);
      expect((reason as Error).message).not.toContain(db.url);
    } finally {
      await lock.release();
    }
  });

  it('a dropped ledger session used for reads reconnects', async () => {
    await using db = await createTestDatabase('ledger_reconnect');
    await using ledger = await openLedger(db);
    await ledger.setCurrentRelease({ release: '2023.1', version: '2023.1.0' });
    await db.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'leapfrog ledger' AND datname = current_database()",
    );
    expect((await ledger.currentRelease())?.release).toBe('2023.1');
    expect(await ledger.lastRun()).toBeNull();
  });
});
