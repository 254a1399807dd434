// Issue 11 item 2 on real PostgreSQL: the appVersion guard refuses a drifted database before the
// lock and the ledger's writes (exit 6, nothing written), and the comparison's own rules (a query
// that fails, a step left unfinished, an older step's rows after `baseline --force`).
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/load-catalog.js';
import { ClientSqlProbe } from '../../src/checks/sql-probe.js';
import { DriftError } from '../../src/errors/index.js';
import { acquireLedgerLock } from '../../src/ledger/ledger-lock.js';
import { LedgerSession } from '../../src/ledger/open-ledger.js';
import { connectClient } from '../../src/pg/connect.js';
import { databaseTargetFromUrl, type DatabaseTarget } from '../../src/pg/database-target.js';
import type { OutputSink } from '../../src/ui/renderer.js';
import { compareAppVersion, unfinishedSteps } from '../../src/upgrade/app-version.js';
import { baseline } from '../../src/upgrade/baseline.js';
import { runUpgrade } from '../../src/upgrade/run-upgrade.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const CATALOG = join(resolve(import.meta.dirname, '../..'), 'test/fixtures/catalogs/appver');
const silent: OutputSink = { out: () => undefined, err: () => undefined, isTTY: false };

async function appSays(db: TestDatabase, version: string): Promise<void> {
  await db.query('CREATE TABLE IF NOT EXISTS app_meta (version text NOT NULL)');
  await db.query('DELETE FROM app_meta');
  await db.query('INSERT INTO app_meta VALUES ($1)', [version]);
}

async function baselineAt(target: DatabaseTarget, release: string, force = false): Promise<void> {
  await baseline({
    release,
    catalogDir: CATALOG,
    target,
    ledgerSchema: 'leapfrog',
    lockTimeoutMs: 5_000,
    verify: false,
    force,
    executorKind: 'process',
  });
}

function apply(target: DatabaseTarget, to: string, lockTimeoutMs = 60_000) {
  return runUpgrade({
    to,
    catalogDir: CATALOG,
    target,
    ledgerSchema: 'leapfrog',
    executorKind: 'process',
    mode: 'apply',
    output: 'json',
    lockTimeoutMs,
    sink: silent,
  });
}

/** Every row of every ledger table, and the ledger's own migrations. */
async function ledgerRows(db: TestDatabase): Promise<string> {
  const rows = await db.query<{ t: string }>(
    `SELECT concat_ws(' | ',
       (SELECT string_agg(row_to_json(s)::text, ',') FROM leapfrog.state s),
       (SELECT string_agg(row_to_json(r)::text, ',') FROM leapfrog.runs r),
       (SELECT string_agg(row_to_json(p)::text, ',') FROM leapfrog.phases p),
       (SELECT string_agg(row_to_json(b)::text, ',') FROM leapfrog.backups b),
       (SELECT string_agg(id::text, ',' ORDER BY id) FROM leapfrog.ledger_migrations)) AS t`,
  );
  return rows[0]?.t ?? '';
}

describe('the appVersion guard', () => {
  it('refuses drift with exit 6 before the lock: another run holding it does not delay the refusal, and nothing is written', async () => {
    await using db = await createTestDatabase('it_appver_guard');
    const target = databaseTargetFromUrl(db.url);
    await appSays(db, '1');
    await baselineAt(target, '1.0');
    await appSays(db, '3');
    const before = await ledgerRows(db);

    // Another run holds the lock: a guard that ran after the lock would wait for it (a minute here).
    await using _holder = await acquireLedgerLock(target, { schema: 'leapfrog', timeoutMs: 5_000 });
    const started = performance.now();
    const refusal = await apply(target, '3.0').then(
      () => null,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(DriftError);
    expect((refusal as DriftError).exitCode).toBe(6);
    expect((refusal as DriftError).message).toContain(
      'records release 1.0 (appVersion "1"), but the application says "3"',
    );
    expect((refusal as DriftError).details).toMatchObject({ release: '1.0', appVersion: '3', matches: ['3.0'] });
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(await ledgerRows(db)).toBe(before);
    expect(await db.query('SELECT version FROM app_meta')).toEqual([{ version: '3' }]);
  });

  it('a database whose application agrees runs as before', async () => {
    await using db = await createTestDatabase('it_appver_agrees');
    const target = databaseTargetFromUrl(db.url);
    await appSays(db, '1');
    await baselineAt(target, '1.0');
    const summary = await apply(target, '2.0');
    expect(summary.result.error).toBeUndefined();
    expect(await db.query('SELECT release FROM leapfrog.state')).toEqual([{ release: '2.0' }]);
  });
});

describe('compareAppVersion on a real database', () => {
  it('a query the database refuses (the application not installed) is drift with its message, not a crash', async () => {
    await using db = await createTestDatabase('it_appver_missing');
    const catalog = await loadCatalog(CATALOG);
    const client = await connectClient(databaseTargetFromUrl(db.url), 'test');
    try {
      const probe = new ClientSqlProbe(() => Promise.resolve(client), []);
      const release = catalog.releases.find((r) => r.id === '2.0');
      if (release === undefined) throw new Error('fixture 2.0 missing');
      const c = await compareAppVersion(probe, catalog, release);
      expect(c).toMatchObject({ release: '2.0', expected: '2', says: null, matches: [], drift: true });
      expect(c?.error).toContain('relation "app_meta" does not exist');
      // The failed query left no transaction open on the session.
      await appSays(db, '2');
      expect(await compareAppVersion(probe, catalog, release)).toMatchObject({ says: '2', drift: false });
    } finally {
      await client.end();
    }
  });

  it('the rows of a step finished before a `baseline --force` back to its start are no unfinished step', async () => {
    await using db = await createTestDatabase('it_appver_unfinished');
    const target = databaseTargetFromUrl(db.url);
    const catalog = await loadCatalog(CATALOG);
    await appSays(db, '1');
    await baselineAt(target, '1.0');
    // A finished step 1.0 -> 2.0, then a baseline moved back to 1.0 by hand, the app still at 2.
    const done = await apply(target, '2.0');
    expect(done.result.error).toBeUndefined();
    await baselineAt(target, '1.0', true);
    {
      await using session = await LedgerSession.open(target, 'leapfrog');
      const current = session.reading.current;
      if (current === null) throw new Error('not baselined');
      expect(await unfinishedSteps(session, current)).toEqual([]);
      const release = catalog.releases.find((r) => r.id === '1.0');
      if (release === undefined) throw new Error('fixture 1.0 missing');
      expect(await compareAppVersion(session.sqlProbe(), catalog, release, [])).toMatchObject({
        says: '2',
        matches: ['2.0', '2.1'],
        drift: true,
      });
    }
  });

  it('a step that stopped after its schema ran: its target (or a value no release claims) is no drift, another release is', async () => {
    await using db = await createTestDatabase('it_appver_stopped');
    const target = databaseTargetFromUrl(db.url);
    const catalog = await loadCatalog(CATALOG);
    await appSays(db, '1');
    await baselineAt(target, '1.0');
    // 2.0's check fails while app_fail exists: the step stops after 2.0's schema command ran.
    await db.query('CREATE TABLE app_fail ()');
    const stopped = await apply(target, '2.0');
    expect(stopped.result.error).toBeDefined();
    {
      await using session = await LedgerSession.open(target, 'leapfrog');
      const current = session.reading.current;
      if (current === null) throw new Error('not baselined');
      expect(current.release).toBe('1.0');
      expect(await unfinishedSteps(session, current)).toEqual(['2.0']);
      const release = catalog.releases.find((r) => r.id === '1.0');
      if (release === undefined) throw new Error('fixture 1.0 missing');
      const probe = session.sqlProbe();
      expect(await compareAppVersion(probe, catalog, release, ['2.0'])).toMatchObject({ says: '2', drift: false });
      // A value between the two that no release claims (a step of several migrations) is tolerated too…
      await appSays(db, '1.5');
      expect(await compareAppVersion(probe, catalog, release, ['2.0'])).toMatchObject({ drift: false });
      // …but one that belongs to another release only is drift.
      await appSays(db, '3');
      expect(await compareAppVersion(probe, catalog, release, ['2.0'])).toMatchObject({
        matches: ['3.0'],
        drift: true,
      });
    }
  });
});
