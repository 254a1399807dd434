// Ledger migration 4 (episodes) on a real PostgreSQL: a ledger written before it keeps the rows a
// crashed run left to resume and drops the ones from before its last baseline, both when read
// without migrating (status, apply --dry-run) and once migrated.
import { describe, expect, it } from 'vitest';
import type { PhaseKey } from '../../src/ledger/ledger.js';
import { openPostgresLedger } from '../../src/ledger/open-ledger.js';
import { databaseTargetFromUrl } from '../../src/pg/database-target.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const STALE: PhaseKey = { fromRelease: '2023.1', release: '2023.2', phase: 'schema', name: 'db' };
const CURRENT: PhaseKey = { fromRelease: '2023.1', release: '2023.2', phase: 'preflight', name: 'preflight' };

/** A ledger as migration 3 left it, with a state set on Jan 2 and two rows of the hop
 * 2023.1 -> 2023.2: one from an earlier visit (Jan 1), one a crashed run left (Jan 3). */
async function preEpisodeLedger(db: TestDatabase): Promise<void> {
  const target = databaseTargetFromUrl(db.url);
  await (await openPostgresLedger(target, { schema: 'leapfrog', migrate: true }))?.[Symbol.asyncDispose]();
  await db.query(`ALTER TABLE leapfrog.state DROP COLUMN episode;
    ALTER TABLE leapfrog.phases DROP COLUMN episode;
    DELETE FROM leapfrog.ledger_migrations WHERE id = 4;
    INSERT INTO leapfrog.state (release, version, updated_at) VALUES ('2023.1', '2023.1.0', '2026-01-02');
    INSERT INTO leapfrog.runs (id, plan_digest, from_release, from_version, to_release, to_version, mode, host, pid, status)
      VALUES ('00000000-0000-0000-0000-000000000001', 'p', '2023.1', '2023.1.0', '2023.2', '2023.2.0', 'apply', 'h', 1, 'failed');
    INSERT INTO leapfrog.phases (run_id, plan_digest, from_release, release, phase, name, status, attempts, started_at)
      VALUES ('00000000-0000-0000-0000-000000000001', 'p', '2023.1', '2023.2', 'schema', 'db', 'succeeded', 1, '2026-01-01'),
             ('00000000-0000-0000-0000-000000000001', 'p', '2023.1', '2023.2', 'preflight', 'preflight', 'succeeded', 2, '2026-01-03');`);
}

describe('ledger episodes', () => {
  it('a pre-episode ledger: rows since the release was set count, older ones do not, before and after migrating', async () => {
    await using db = await createTestDatabase('ledger_episodes');
    const target = databaseTargetFromUrl(db.url);
    await preEpisodeLedger(db);

    const readOnly = await openPostgresLedger(target, { schema: 'leapfrog', migrate: false });
    if (readOnly === null) throw new Error('no ledger');
    try {
      expect(await readOnly.phase(STALE)).toBeNull();
      expect(await readOnly.phase(CURRENT)).toMatchObject({ status: 'succeeded', attempts: 2 });
    } finally {
      await readOnly[Symbol.asyncDispose]();
    }

    const ledger = await openPostgresLedger(target, { schema: 'leapfrog', migrate: true });
    if (ledger === null) throw new Error('no ledger');
    try {
      expect(await ledger.phase(STALE)).toBeNull();
      expect(await ledger.phase(CURRENT)).toMatchObject({ status: 'succeeded', attempts: 2 });
      const [state] = await db.query<{ episode: string | null }>('SELECT episode FROM leapfrog.state');
      expect(state?.episode).toMatch(/^[0-9a-f-]{36}$/);

      // Attempts go on within the episode and start again in a new one.
      await ledger.startPhase(CURRENT, '00000000-0000-0000-0000-000000000001', 'p');
      await ledger.startPhase(STALE, '00000000-0000-0000-0000-000000000001', 'p');
      expect(await ledger.phase(CURRENT)).toMatchObject({ status: 'running', attempts: 3 });
      expect(await ledger.phase(STALE)).toMatchObject({ status: 'running', attempts: 1 });

      // An advance keeps the episode (the hop it ends still answers); setting the release does not.
      await ledger.finishPhase(
        STALE,
        { status: 'succeeded', exitCode: 0, outputTail: [], durationMs: 1, rowsMigrated: null, details: null },
        { release: '2023.2', version: '2023.2.0' },
      );
      expect((await ledger.phase(STALE))?.status).toBe('succeeded');
      await ledger.setCurrentRelease({ release: '2023.1', version: '2023.1.0' });
      expect(await ledger.phase(STALE)).toBeNull();
      expect(await ledger.phase(CURRENT)).toBeNull();
      const [after] = await db.query<{ episode: string }>('SELECT episode FROM leapfrog.state');
      expect(after?.episode).not.toBe(state?.episode);
    } finally {
      await ledger[Symbol.asyncDispose]();
    }
  });

  it('baseline --force on a damaged pre-episode ledger keeps its phase rows, in no episode', async () => {
    await using db = await createTestDatabase('ledger_episodes_repair');
    await preEpisodeLedger(db);
    await db.query('DROP TABLE leapfrog.backups');
    const target = databaseTargetFromUrl(db.url);
    const ledger = await openPostgresLedger(target, { schema: 'leapfrog', migrate: true, repair: true });
    if (ledger === null) throw new Error('no ledger');
    try {
      const rows = await db.query<{ phase: string; episode: string | null }>(
        'SELECT phase, episode FROM leapfrog.phases ORDER BY id',
      );
      expect(rows).toEqual([
        { phase: 'schema', episode: null },
        { phase: 'preflight', episode: null },
      ]);
      expect(await ledger.phase(CURRENT)).toBeNull();
    } finally {
      await ledger[Symbol.asyncDispose]();
      const aside = await db.query<{ nspname: string }>(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'leapfrog_damaged_%'",
      );
      expect(aside).toHaveLength(1);
    }
  });
});
