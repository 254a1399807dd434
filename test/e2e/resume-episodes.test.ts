// Phase records of an earlier episode must not skip work (issue 12): a database that went
// 2023.1 -> 2023.2 and was then put back at 2023.1 (its schema restored by hand, then
// `baseline --force`) still holds the hop's records as succeeded; `apply --to 2023.2` must run
// the hop's commands again, not advance the ledger without running anything. A restore brings
// the dump's ledger back whole: its records are those of the dump's own data, except the stale
// ones it carried, which must not count either.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { CATALOG, CLI, ROOT, currentRelease, leapfrog, seedItems } from './apply-helpers.js';

/** What the fixture's commands did, in order (fx writes one row per schema command and data batch). */
async function fxLog(db: TestDatabase): Promise<string[]> {
  const rows = await db.query<{ entry: string }>("SELECT phase || ':' || name AS entry FROM fx_log ORDER BY id");
  return rows.map((r) => r.entry);
}

describe('a hop applied in an earlier episode', () => {
  it('runs again after baseline --force puts the database back, and dry-run says so', async () => {
    await using db = await createTestDatabase('e2e_episode');
    await seedItems(db, 30);
    expect((await leapfrog(['baseline', '--release', '2023.1'], db.url)).exitCode).toBe(0);
    const first = await leapfrog(['apply', '--to', '2023.2'], db.url);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(await fxLog(db)).toEqual(['schema:api_db', 'schema:db', 'data:batch']);

    // Back to 2023.1 by hand: the hop's column and the fixture's log are gone, the ledger is told.
    await db.query('ALTER TABLE items DROP COLUMN r_2023_2');
    await db.query('DROP TABLE fx_log');
    const back = await leapfrog(['baseline', '--release', '2023.1', '--force'], db.url);
    expect(back.exitCode, back.stderr).toBe(0);
    expect(await currentRelease(db)).toBe('2023.1');

    const dry = await leapfrog(['--output', 'json', 'apply', '--to', '2023.2', '--dry-run'], db.url);
    expect(dry.exitCode, dry.stderr).toBe(0);
    const report = JSON.parse(dry.stdout) as {
      resumed: boolean;
      stops: { phases: { name: string; action: string }[] }[];
    };
    expect(report.resumed).toBe(false);
    expect(report.stops[0]?.phases.map((p) => `${p.name}:${p.action}`)).toEqual([
      'preflight:run',
      'api_db:run',
      'db:run',
      'data:run',
      'check:run',
    ]);

    const again = await leapfrog(['apply', '--to', '2023.2'], db.url);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await fxLog(db)).toEqual(['schema:api_db', 'schema:db', 'data:batch']);
    const filled = await db.query<{ n: number }>('SELECT count(r_2023_2)::int AS n FROM items');
    expect(filled[0]?.n).toBe(30);
    expect(await currentRelease(db)).toBe('2023.2');
    const attempts = await db.query<{ phase: string; attempts: number }>(
      "SELECT phase, attempts FROM leapfrog.phases WHERE release = '2023.2' ORDER BY id",
    );
    // A new episode starts its count again: each phase ran once since the baseline.
    expect(attempts.map((r) => r.attempts)).toEqual([1, 1, 1, 1, 1]);
  });
});

/** The CLI with a backup folder (apply-helpers' `leapfrog` passes --no-backup). */
function withBackups(args: string[], url: string, dir: string) {
  const catalog = args[0] === 'restore' ? [] : ['--catalog', CATALOG];
  return execa('node', [CLI, ...args, ...catalog, '--database-url', url, '--backup-dir', dir], {
    cwd: ROOT,
    reject: false,
    env: { NO_COLOR: '1', CI: '1' },
  });
}

describe('a restore of a backup that carries an earlier episode', () => {
  it("runs what the dump's data lacks and skips only what its own episode recorded", async () => {
    await using db = await createTestDatabase('e2e_episode_restore');
    const dir = await mkdtemp(join(tmpdir(), 'leapfrog-e2e-episode-'));
    try {
      await seedItems(db, 30);
      expect((await leapfrog(['baseline', '--release', '2023.1'], db.url)).exitCode).toBe(0);
      expect((await leapfrog(['apply', '--to', '2023.2'], db.url)).exitCode).toBe(0);
      await db.query('ALTER TABLE items DROP COLUMN r_2023_2');
      await db.query('DROP TABLE fx_log');
      expect((await leapfrog(['baseline', '--release', '2023.1', '--force'], db.url)).exitCode).toBe(0);

      // This apply takes the pre-upgrade backup after its preflight: the dump holds the new
      // episode's preflight and the earlier episode's schema, data and check rows, all succeeded.
      const second = await withBackups(['apply', '--to', '2023.2'], db.url, dir);
      expect(second.exitCode, second.stderr).toBe(0);
      expect(await fxLog(db)).toEqual(['schema:api_db', 'schema:db', 'data:batch']);
      const [backup] = await db.query<{ path: string }>('SELECT path FROM leapfrog.backups');
      expect(backup).toBeDefined();

      const restored = await withBackups(['restore', backup?.path ?? '', '--yes'], db.url, dir);
      expect(restored.exitCode, restored.stderr).toBe(0);
      expect(await currentRelease(db)).toBe('2023.1');

      const third = await withBackups(['apply', '--to', '2023.2', '--no-backup'], db.url, dir);
      expect(third.exitCode, third.stderr).toBe(0);
      expect(await fxLog(db)).toEqual(['schema:api_db', 'schema:db', 'data:batch']);
      const filled = await db.query<{ n: number }>('SELECT count(r_2023_2)::int AS n FROM items');
      expect(filled[0]?.n).toBe(30);
      const phases = await db.query<{ phase: string; attempts: number }>(
        "SELECT phase, attempts FROM leapfrog.phases WHERE release = '2023.2' ORDER BY id",
      );
      // The preflight ran in the restored episode, before the dump: recorded once, not run again.
      expect(phases.map((r) => `${r.phase}:${r.attempts}`)).toEqual([
        'preflight:1',
        'schema:1',
        'schema:1',
        'data:1',
        'check:1',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
