// runPlan in-process with the real PostgresLedger, the real ProcessExecutor and the fx fixture
// releases: per-phase timeouts from the manifest kill the command and are recorded.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../src/catalog/load-catalog.js';
import type { Catalog } from '../../src/catalog/release.js';
import { PhaseFailedError } from '../../src/errors/index.js';
import { ProcessExecutor } from '../../src/executors/process-executor.js';
import { openPostgresLedger } from '../../src/ledger/open-ledger.js';
import { databaseTargetFromUrl } from '../../src/pg/database-target.js';
import { planPath } from '../../src/planner/plan-path.js';
import { runPlan } from '../../src/runner/run-plan.js';
import { createTestDatabase } from '../helpers/database.js';

const CATALOG = resolve('test/fixtures/catalogs/runner-basic');

describe('runPlan with PostgresLedger and ProcessExecutor', () => {
  it('a data phase over its time budget is killed, recorded as failed, and the release does not move', async () => {
    await using db = await createTestDatabase('runner_timeout');
    await db.query('CREATE TABLE items (id integer PRIMARY KEY, v integer NOT NULL)');
    await db.query('INSERT INTO items SELECT g, g FROM generate_series(1, 100) g');
    const loaded = await loadCatalog(CATALOG);
    // The same catalog with a 1.5 s data budget; the fixture sleeps 30 s per batch.
    const catalog: Catalog = {
      ...loaded,
      releases: loaded.releases.map((r) => ({ ...r, timeoutsMs: { ...r.timeoutsMs, data: 1500 } })),
    };
    const target = databaseTargetFromUrl(db.url);
    const ledger = await openPostgresLedger(target, { schema: 'leapfrog', migrate: true });
    if (ledger === null) throw new Error('no ledger');
    try {
      await ledger.setCurrentRelease({ release: '2023.1', version: '2023.1.0' });
      const plan = planPath(catalog, '2023.1', '2023.2');
      let hookCalls = 0;
      const started = Date.now();
      const error = await runPlan({
        plan,
        planDigest: 'sha256:test',
        catalog,
        ledger,
        executor: new ProcessExecutor({ killGraceMs: 500 }),
        mode: 'apply',
        database: { url: target.url },
        env: { FX_SLEEP_MS: '30000' },
        secrets: target.secrets,
        signal: new AbortController().signal,
        backup: {
          takeIfDue: () => {
            hookCalls += 1;
            return Promise.resolve();
          },
        },
      }).then((r) => r.error);
      expect(error).toBeInstanceOf(PhaseFailedError);
      expect((error as Error).message).toContain('release 2023.2, phase data failed');
      expect((error as Error).message).toContain('timed out after 2s');
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(hookCalls).toBe(1);
      const rows = await db.query<{ phase: string; status: string; exit_code: number | null }>(
        'SELECT phase, status, exit_code FROM leapfrog.phases ORDER BY id',
      );
      expect(rows.map((r) => `${r.phase}:${r.status}`)).toEqual([
        'preflight:succeeded',
        'schema:succeeded',
        'schema:succeeded',
        'data:failed',
      ]);
      expect(rows.at(-1)?.exit_code).toBeNull();
      expect((await ledger.currentRelease())?.release).toBe('2023.1');
      // Without the slowness, the re-run resumes at the data phase and finishes the step.
      const resumed = await runPlan({
        plan,
        planDigest: 'sha256:test',
        catalog,
        ledger,
        executor: new ProcessExecutor(),
        mode: 'apply',
        database: { url: target.url },
        secrets: target.secrets,
        signal: new AbortController().signal,
      });
      expect(resumed.steps[0]?.phases.map((p) => p.status)).toEqual([
        'skipped',
        'skipped',
        'skipped',
        'succeeded',
        'succeeded',
      ]);
      expect((await ledger.currentRelease())?.release).toBe('2023.2');
      const left = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM items WHERE r_2023_2 IS NULL');
      expect(left[0]?.n).toBe(0);
    } finally {
      await ledger[Symbol.asyncDispose]();
    }
  });
});
