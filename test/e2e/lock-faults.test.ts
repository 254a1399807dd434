// Issue 9, item 8, through the built CLI: the server ends leapfrog's sessions mid data phase
// (pg_terminate_backend of the lock holder, idle_session_timeout, a restart). The run stops with
// "lost the ledger lock" (exit 4) and records nothing more, or carries on when only idleness was
// the threat; a re-run resumes to the same data as a run that never stopped.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { startEmbeddedServer } from '../../src/pg/embedded-server.js';
import { createTestDatabase, queryAt, type TestDatabase } from '../helpers/database.js';
import { currentRelease, dataRunning, itemsDigest, leapfrog, seedItems, waitFor } from './apply-helpers.js';

async function lockHolderPid(db: TestDatabase): Promise<number> {
  const rows = await db.query<{ pid: number }>(
    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
  );
  if (rows[0] === undefined) throw new Error('nobody holds the ledger lock');
  return rows[0].pid;
}

/** A database on a server of the test's own, which it may restart without disturbing others. */
function databaseOn(server: { urlFor(name: string): string }, name: string): TestDatabase {
  const url = server.urlFor(name);
  return {
    name,
    url,
    query: (sql, params) => queryAt(url, sql, params),
    // The whole server goes when the test ends.
    drop: () => Promise.resolve(),
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}

describe('the lock and the ledger when the server ends leapfrog sessions', () => {
  it('pg_terminate_backend of the lock holder mid data phase: exit 4, nothing recorded after; a second apply takes over', async () => {
    await using db = await createTestDatabase('e2e_lock_lost');
    await seedItems(db, 800);
    await leapfrog(['baseline', '--release', '2023.1'], db.url);
    const first = leapfrog(['apply', '--to', '2023.2'], db.url, { FX_SLEEP_MS: '20000' });
    await waitFor(() => dataRunning(db, '2023.2'));
    const [firstRun] = await db.query<{ id: string }>("SELECT id FROM leapfrog.runs WHERE status = 'running'");
    await db.query('SELECT pg_terminate_backend($1)', [await lockHolderPid(db)]);
    // Started while the first is still alive: it is not blocked forever, it takes the lock over.
    const second = leapfrog(['apply', '--to', '2023.2', '--lock-timeout', '60s'], db.url);

    const lost = await first;
    expect(lost.exitCode, lost.stderr).toBe(4);
    expect(lost.stderr).toContain('lost the ledger lock on ');
    expect(lost.stderr).toContain('stopped the run (and its phase command) and recorded nothing further');
    expect(lost.stderr).toContain('re-run `leapfrog apply --to 2023.2 --catalog ');
    expect(lost.stderr).not.toContain('a bug in leapfrog');
    expect(lost.stderr).not.toContain(db.url);
    // Stopped well before the 20 s batch would have ended.
    expect(lost.durationMs ?? 0).toBeLessThan(15_000);

    const took = await second;
    expect(took.exitCode, took.stderr).toBe(0);
    expect(await currentRelease(db)).toBe('2023.2');
    // The first run wrote nothing after the loss: not its phase's end, not its own run's end;
    // the second closed it as interrupted, and every phase record of 2023.2's data is the second's.
    const runs = await db.query<{ id: string; status: string }>(
      'SELECT id, status FROM leapfrog.runs ORDER BY started_at',
    );
    expect(runs[0]).toEqual({ id: firstRun?.id, status: 'interrupted' });
    expect(runs[1]?.status).toBe('succeeded');
    const data = await db.query<{ run_id: string; status: string; attempts: number }>(
      "SELECT run_id, status, attempts FROM leapfrog.phases WHERE phase = 'data'",
    );
    expect(data).toEqual([{ run_id: runs[1]?.id, status: 'succeeded', attempts: 2 }]);
  });

  it('idle_session_timeout = 2s on the database: an apply whose data phase takes longer succeeds', async () => {
    await using db = await createTestDatabase('e2e_idle_timeout');
    await seedItems(db, 1200);
    await leapfrog(['baseline', '--release', '2023.1'], db.url);
    await db.query(`ALTER DATABASE "${db.name}" SET idle_session_timeout = '2s'`);
    // Four batches of one second each: the phase command's own sessions never idle 2 s, but
    // leapfrog's lock and ledger sessions would sit idle for the whole phase.
    const started = Date.now();
    const run = await leapfrog(['apply', '--to', '2023.2'], db.url, { FX_SLEEP_MS: '1000' });
    expect(run.exitCode, run.stderr).toBe(0);
    expect(Date.now() - started).toBeGreaterThan(3000);
    expect(await currentRelease(db)).toBe('2023.2');
  });

  it('a server restart mid data phase: a clean typed failure, then a resume to the same data as an uninterrupted run', async () => {
    await using server = await startEmbeddedServer();
    const admin = databaseOn(server, 'postgres');
    const name = `restart_${randomBytes(4).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.query(`CREATE DATABASE ${name}_straight`);
    const db = databaseOn(server, name);
    const straight = databaseOn(server, `${name}_straight`);
    for (const d of [db, straight]) {
      await seedItems(d, 800);
      await leapfrog(['baseline', '--release', '2023.1'], d.url);
    }
    const uninterrupted = await leapfrog(['apply', '--to', '2023.2'], straight.url);
    expect(uninterrupted.exitCode, uninterrupted.stderr).toBe(0);

    const run = leapfrog(['apply', '--to', '2023.2'], db.url, { FX_SLEEP_MS: '20000' });
    await waitFor(() => dataRunning(db, '2023.2'));
    await server.restart();
    const stopped = await run;
    expect(stopped.exitCode, stopped.stderr).toBe(4);
    expect(stopped.stderr).toContain('lost the ledger lock on ');
    expect(stopped.stderr).not.toContain('a bug in leapfrog');
    expect(stopped.stderr).not.toContain('the run stopped outside a phase command');

    const resumed = await leapfrog(['apply', '--to', '2023.2'], db.url);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(await currentRelease(db)).toBe('2023.2');
    expect(await itemsDigest(db)).toBe(await itemsDigest(straight));
  });
});
