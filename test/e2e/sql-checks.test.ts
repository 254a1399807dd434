// `apply` of a catalog written with issue 11's runner features only (test/fixtures/catalogs/
// runner-sql): sql checks in preflight and check, an exit-code map with a per-command env, a data
// command followed by a gate, a gate alone while "the application's workers" (this test) do the
// work, and a check red in SQL. The built CLI, real PostgreSQL, the process executor.
import { join } from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { CLI, ROOT, currentRelease, phaseRows, seedItems } from './apply-helpers.js';
import { plainText, runInPty, terminalEnv } from './terminal-pty.js';

const CATALOG = join(ROOT, 'test/fixtures/catalogs/runner-sql');

function leapfrog(args: string[], url: string) {
  const runs = args.includes('apply');
  return execa('node', [CLI, ...args, '--catalog', CATALOG, '--database-url', url, ...(runs ? ['--no-backup'] : [])], {
    cwd: ROOT,
    reject: false,
    env: { NO_COLOR: '1', CI: '1' },
  });
}

async function seeded(prefix: string): Promise<TestDatabase> {
  const db = await createTestDatabase(prefix);
  await seedItems(db, 1000);
  // One row the 1.1 check warns about and the 1.3 check refuses.
  await db.query('INSERT INTO items VALUES (1001, -7)');
  expect((await leapfrog(['baseline', '--release', '1.0'], db.url)).exitCode).toBe(0);
  return db;
}

/** Plays the application's own workers: backfills r_1_2 in small batches once the column exists. */
function startWorkers(url: string): { stop: () => Promise<void> } {
  const client = new pg.Client({ connectionString: url });
  let running = true;
  const loop = (async () => {
    await client.connect();
    while (running) {
      await client
        .query(
          'UPDATE items SET r_1_2 = v * 2 WHERE id IN (SELECT id FROM items WHERE r_1_2 IS NULL ORDER BY id LIMIT 100)',
        )
        .catch(() => undefined); // the column does not exist until 1.2's schema command ran
      await new Promise((r) => setTimeout(r, 150));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      await client.end();
    },
  };
}

describe('apply with sql checks, gates and exit-code maps', () => {
  it('human output: each sql check shown like upgradecheck checks, the gate as progress; a SQL red check exits 3', async () => {
    await using db = await seeded('e2e_sql_human');
    const workers = startWorkers(db.url);
    let apply;
    try {
      apply = await leapfrog(['apply', '--to', '1.2'], db.url);
    } finally {
      await workers.stop();
    }
    expect(apply.exitCode, apply.stderr).toBe(0);
    const out = apply.stdout;
    if (process.env['SHOW_OUTPUT'] === '1') console.log(out);
    expect(out).toContain('check success: items table present');
    expect(out).toContain('schema sync-check: succeeded');
    expect(out).toContain('check success: backfill complete');
    expect(out).toContain('check warning: negative values — id=1001, v=-7');
    expect(out).toMatch(/data\.until: [\d,]+ items done, [\d,]+ left/);
    expect(out).toContain('data: succeeded'); // 1.1's command and its gate
    expect(out).toMatch(/data: succeeded in [\d.]+m?s, 1,001 rows/);
    expect(await currentRelease(db)).toBe('1.2');
    const left = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM items WHERE r_1_2 IS NULL');
    expect(left[0]?.n).toBe(0);
    // SQL-only phases are recorded like any phase, with no exit code.
    const rows = await db.query<{ release: string; phase: string; exit_code: number | null }>(
      "SELECT release, phase, exit_code FROM leapfrog.phases WHERE phase IN ('preflight', 'check') ORDER BY id",
    );
    expect(rows).toEqual([
      { release: '1.1', phase: 'preflight', exit_code: null },
      { release: '1.1', phase: 'check', exit_code: null },
      { release: '1.2', phase: 'check', exit_code: null },
    ]);

    const red = await leapfrog(['apply', '--to', '1.3'], db.url);
    expect(red.exitCode).toBe(3);
    expect(red.stdout).toContain('check failure: no negative values — id=1001, v=-7');
    expect(red.stderr).toContain('green-light check is red for release 1.3, phase check');
    expect(red.stderr).toContain('FAILURE: no negative values — id=1001, v=-7');
    expect(red.stderr).toContain('next:');
    expect(await currentRelease(db)).toBe('1.2');
    expect((await phaseRows(db)).at(-1)).toMatchObject({ release: '1.3', phase: 'check', status: 'failed' });
  });

  it('on a terminal, every verdict of a check phase stays under its task, not only the last one', async () => {
    await using db = await seeded('e2e_sql_tty');
    const run = runInPty(
      ['node', CLI, 'apply', '--to', '1.1', '--catalog', CATALOG, '--database-url', db.url, '--no-backup'],
      terminalEnv({ LEAPFROG_CACHE_DIR: 'off' }),
    );
    const result = await run.process;
    const raw = run.screen();
    expect(result.exitCode, plainText(raw)).toBe(0);
    // listr2 redraws in place (cursor up, erase): what stays on screen is the frame after the last
    // cursor-up. 1.1's check has two SQL checks; listr2 keeps a task's last output, so both must be in it.
    const finalFrame = plainText(raw.slice(raw.lastIndexOf('\u001b[1A')));
    expect(finalFrame).toMatch(/success: backfill complete/);
    expect(finalFrame).toMatch(/warning: negative values/);
  });

  it('--output json: check-result events per sql check, progress events from the gate', async () => {
    await using db = await seeded('e2e_sql_json');
    const workers = startWorkers(db.url);
    let apply;
    try {
      apply = await leapfrog(['--output', 'json', 'apply', '--to', '1.2'], db.url);
    } finally {
      await workers.stop();
    }
    expect(apply.exitCode, apply.stderr).toBe(0);
    const events = apply.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; phase?: string; check?: string; result?: number; details?: string });
    const checks = events.filter((e) => e.type === 'check-result').map((e) => [e.phase, e.check, e.result, e.details]);
    expect(checks).toEqual([
      ['preflight', 'items table present', 0, null],
      ['check', 'backfill complete', 0, null],
      ['check', 'negative values', 1, 'id=1001, v=-7'],
      ['check', 'backfill complete', 0, null],
    ]);
    const gate = events.filter(
      (e) => e.type === 'progress' && (e as { migration?: string }).migration === 'data.until',
    );
    // 1.1's gate read 0 after its command (nothing to show); 1.2's waited for the workers.
    expect(gate.length).toBeGreaterThan(1);
    expect(gate.every((e) => (e as { release?: string }).release === '1.2')).toBe(true);
    expect(gate.at(-1)).toMatchObject({ remaining: 0 });
    expect(await currentRelease(db)).toBe('1.2');
  });

  it("baseline verifies with the release's sql checks (a connection of its own): red refuses (exit 3), green records", async () => {
    await using db = await createTestDatabase('e2e_sql_baseline');
    await seedItems(db, 10);
    await db.query('INSERT INTO items VALUES (11, -1)');
    const red = await leapfrog(['baseline', '--release', '1.3'], db.url);
    expect(red.exitCode).toBe(3);
    expect(red.stderr).toContain("release 1.3's own check is red");
    expect(red.stderr).toContain('no negative values: id=11, v=-1');
    await db.query('DELETE FROM items WHERE v < 0');
    const green = await leapfrog(['baseline', '--release', '1.3'], db.url);
    expect(green.exitCode, green.stderr).toBe(0);
    expect(await currentRelease(db)).toBe('1.3');
  });
});
