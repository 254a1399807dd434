// PostgresLedger and its lock on a real PostgreSQL server: migrations, records, the advisory lock.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { BadInputError, LockHeldError } from '../../src/errors/index.js';
import { acquireLedgerLock } from '../../src/ledger/ledger-lock.js';
import { ledgerMigrations } from '../../src/ledger/migrations.js';
import { openPostgresLedger } from '../../src/ledger/open-ledger.js';
import { databaseTargetFromUrl } from '../../src/pg/database-target.js';
import { createTestDatabase } from '../helpers/database.js';

describe('PostgresLedger', () => {
  it('creates its schema with its own migrations, concurrently and idempotently', async () => {
    await using db = await createTestDatabase('ledger_create');
    const target = databaseTargetFromUrl(db.url);
    expect(await openPostgresLedger(target, { schema: 'lf_custom', migrate: false })).toBeNull();
    const opened = await Promise.all(
      [1, 2, 3].map(() => openPostgresLedger(target, { schema: 'lf_custom', migrate: true })),
    );
    for (const l of opened) await l?.[Symbol.asyncDispose]();
    const applied = await db.query<{ id: number }>('SELECT id FROM lf_custom.ledger_migrations ORDER BY id');
    expect(applied.map((r) => r.id)).toEqual(ledgerMigrations.map((m) => m.id));
    const tables = await db.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'lf_custom' ORDER BY table_name",
    );
    expect(tables.map((t) => t.table_name)).toEqual([
      'backups',
      'identity',
      'ledger_migrations',
      'lock_fence',
      'phases',
      'runs',
      'state',
    ]);
  });

  it('records runs, phases (attempts counted) and advances the release with the last phase, in one transaction', async () => {
    await using db = await createTestDatabase('ledger_records');
    const ledger = await openPostgresLedger(databaseTargetFromUrl(db.url), { schema: 'leapfrog', migrate: true });
    if (ledger === null) throw new Error('no ledger');
    try {
      expect(await ledger.currentRelease()).toBeNull();
      await ledger.setCurrentRelease({ release: '2023.1', version: '2023.1.0' });
      const run = await ledger.startRun({
        planDigest: 'sha256:p',
        from: { release: '2023.1', version: '2023.1.0' },
        to: { release: '2024.1', version: '2024.1.0' },
        mode: 'apply',
        host: 'h',
        pid: 1,
      });
      const key = { fromRelease: '2023.1', release: '2024.1', phase: 'check' as const, name: 'check' };
      await ledger.startPhase(key, run.id, 'sha256:p');
      await ledger.finishPhase(key, {
        status: 'failed',
        exitCode: 2,
        outputTail: ['a', 'b'],
        durationMs: 5,
        rowsMigrated: null,
        details: { checks: [] },
      });
      expect((await ledger.lastFailedPhase())?.outputTail).toEqual(['a', 'b']);
      expect((await ledger.currentRelease())?.release).toBe('2023.1');
      await ledger.startPhase(key, run.id, 'sha256:p');
      await ledger.finishPhase(
        key,
        { status: 'succeeded', exitCode: 0, outputTail: [], durationMs: 5, rowsMigrated: 7, details: null },
        { release: '2024.1', version: '2024.1.0' },
      );
      expect(await ledger.phase(key)).toMatchObject({ status: 'succeeded', attempts: 2, rowsMigrated: 7 });
      expect((await ledger.currentRelease())?.release).toBe('2024.1');
      await ledger.finishRun(run.id, 'succeeded');
      expect((await ledger.lastRun())?.status).toBe('succeeded');

      // A failure inside finishPhase's transaction leaves neither the record nor the release.
      await db.query('ALTER TABLE leapfrog.state ADD CONSTRAINT no_2025 CHECK (release <> $$2025.1$$)');
      const next = { fromRelease: '2024.1', release: '2025.1', phase: 'check' as const, name: 'check' };
      await ledger.startPhase(next, run.id, 'sha256:p');
      await expect(
        ledger.finishPhase(
          next,
          { status: 'succeeded', exitCode: 0, outputTail: [], durationMs: 1, rowsMigrated: null, details: null },
          { release: '2025.1', version: '2025.1.0' },
        ),
      ).rejects.toThrow();
      expect((await ledger.phase(next))?.status).toBe('running');
      expect((await ledger.currentRelease())?.release).toBe('2024.1');

      const backup = await ledger.recordBackup({
        release: '2024.1',
        version: '2024.1.0',
        path: '/b/x.dump',
        format: 'custom',
        bytes: 10,
        sha256: 'ab',
        durationMs: 3,
        runId: run.id,
      });
      expect((await ledger.backups()).map((b) => b.id)).toEqual([backup.id]);
    } finally {
      await ledger[Symbol.asyncDispose]();
    }
  });
});

describe('ledger written by a newer leapfrog', () => {
  it('is refused (exit 2) rather than used or downgraded', async () => {
    await using db = await createTestDatabase('ledger_newer');
    const target = databaseTargetFromUrl(db.url);
    const ledger = await openPostgresLedger(target, { schema: 'leapfrog', migrate: true });
    await ledger?.[Symbol.asyncDispose]();
    await db.query("INSERT INTO leapfrog.ledger_migrations (id, name) VALUES (999, 'from the future')");
    const error = await openPostgresLedger(target, { schema: 'leapfrog', migrate: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as BadInputError).message).toContain('written by a newer leapfrog (ledger migration 999');
  });
});

describe('ledger lock', () => {
  it('is exclusive, times out with LockHeldError naming the holder, and dies with its session', async () => {
    await using db = await createTestDatabase('ledger_lock');
    const target = databaseTargetFromUrl(db.url);
    const held = await acquireLedgerLock(target, { schema: 'leapfrog', timeoutMs: 1000 });
    const started = Date.now();
    const error = await acquireLedgerLock(target, { schema: 'leapfrog', timeoutMs: 400, pollMs: 50 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LockHeldError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect((error as LockHeldError).message).toContain(`pid ${process.pid}`);
    expect((error as LockHeldError).message).not.toContain(new URL(db.url).password);
    // Another schema is another lock.
    const other = await acquireLedgerLock(target, { schema: 'other', timeoutMs: 200 });
    await other.release();
    await held.release();
    const again = await acquireLedgerLock(target, { schema: 'leapfrog', timeoutMs: 200 });
    await again.release();

    // A session that dies (the process crashed) takes its lock with it.
    const client = new pg.Client({ connectionString: db.url });
    // The terminated session reports its own death; that is the point here.
    client.on('error', () => undefined);
    await client.connect();
    await client.query("SELECT pg_advisory_lock(19526, hashtext('leapfrog'))");
    await expect(acquireLedgerLock(target, { schema: 'leapfrog', timeoutMs: 200 })).rejects.toBeInstanceOf(
      LockHeldError,
    );
    const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    await db.query('SELECT pg_terminate_backend($1)', [pid]);
    await client.end().catch(() => undefined);
    const after = await acquireLedgerLock(target, { schema: 'leapfrog', timeoutMs: 2000 });
    await after.release();
  });
});
