// Crash safety and concurrency of the built CLI on real PostgreSQL: lock contention (exit 4),
// SIGINT (exit 130), kill -9 during the data phase and resume, and secrets never printed.
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import {
  CATALOG,
  currentRelease,
  dataRunning,
  itemsDigest,
  leapfrog,
  phaseRows,
  seedItems,
  waitFor,
} from './apply-helpers.js';

describe('crash safety', () => {
  it('two concurrent applies: one runs, the other exits 4 naming the holder', async () => {
    await using db = await createTestDatabase('e2e_lock');
    await seedItems(db, 800);
    await leapfrog(['baseline', '--release', '2023.1'], db.url);
    const first = leapfrog(['apply', '--to', '2023.2'], db.url, { FX_SLEEP_MS: '1500' });
    await waitFor(async () => (await db.query("SELECT 1 FROM leapfrog.runs WHERE status = 'running'")).length > 0);
    const second = await leapfrog(['apply', '--to', '2023.2', '--lock-timeout', '1s'], db.url);
    expect(second.exitCode).toBe(4);
    expect(second.stderr).toContain('another run holds the ledger lock');
    expect(second.stderr).toContain(`(pid ${first.pid})`);
    expect(second.stderr).toMatch(/since \d{4}-\d\d-\d\dT/);
    expect(second.stderr).toContain('running plan 2023.1 -> 2023.2');
    // status never takes the lock: it answers during the run and names it.
    const status = await leapfrog(['status'], db.url);
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toContain(`running now: leapfrog on`);
    expect(status.stdout).toContain(`pid ${first.pid}`);
    const done = await first;
    expect(done.exitCode, done.stderr).toBe(0);
    expect(await currentRelease(db)).toBe('2023.2');
  });

  it('SIGINT stops the command, records the phase as interrupted, releases the lock, exits 130', async () => {
    await using db = await createTestDatabase('e2e_sigint');
    await seedItems(db, 800);
    await leapfrog(['baseline', '--release', '2023.1'], db.url);
    const run = leapfrog(['apply', '--to', '2023.2'], db.url, { FX_SLEEP_MS: '20000' });
    await waitFor(() => dataRunning(db, '2023.2'));
    run.kill('SIGINT');
    const result = await run;
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toContain('interrupted during release 2023.2, phase data');
    // The resume command repeats the --catalog and --database-url this run was given (URL never printed).
    expect(result.stderr).toContain(`re-run \`leapfrog apply --to 2023.2 --catalog ${CATALOG} --database-url <url>\``);
    const data = (await phaseRows(db)).find((r) => r.phase === 'data');
    expect(data?.status).toBe('interrupted');
    expect((await db.query<{ status: string }>('SELECT status FROM leapfrog.runs'))[0]?.status).toBe('interrupted');
    expect(await db.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory'")).toHaveLength(0);

    const resumed = await leapfrog(['apply', '--to', '2023.2', '--lock-timeout', '2s'], db.url);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(await currentRelease(db)).toBe('2023.2');
  });

  it('kill -9 during the data phase: the re-run finishes, each phase succeeded once, data as if uninterrupted', async () => {
    await using killed = await createTestDatabase('e2e_kill');
    await using clean = await createTestDatabase('e2e_clean');
    for (const db of [killed, clean]) {
      await seedItems(db, 1000);
      await leapfrog(['baseline', '--release', '2023.1'], db.url);
    }
    const reference = await leapfrog(['apply', '--to', '2024.1'], clean.url);
    expect(reference.exitCode, reference.stderr).toBe(0);

    const run = leapfrog(['apply', '--to', '2024.1'], killed.url, { FX_SLEEP_MS: '700' });
    await waitFor(() => dataRunning(killed, '2024.1'));
    run.kill('SIGKILL');
    const result = await run;
    expect(result.signal).toBe('SIGKILL');
    expect(await currentRelease(killed)).toBe('2023.2');
    // The fixture's in-flight batch was in its own process group and finishes on its own.
    await new Promise((r) => setTimeout(r, 1500));

    const resumed = await leapfrog(['apply', '--to', '2024.1'], killed.url);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('schema db: skipped');
    expect(await currentRelease(killed)).toBe('2024.1');
    const rows = await phaseRows(killed);
    expect(rows).toHaveLength(10);
    expect(rows.every((r) => r.status === 'succeeded')).toBe(true);
    expect(rows.filter((r) => r.attempts > 1).map((r) => `${r.release}:${r.phase}`)).toEqual(['2024.1:data']);
    const runs = await killed.query<{ status: string }>('SELECT status FROM leapfrog.runs ORDER BY started_at');
    expect(runs.map((r) => r.status)).toEqual(['interrupted', 'succeeded']);
    expect(await itemsDigest(killed)).toBe(await itemsDigest(clean));
  });

  it('the database password never appears in output, errors or ledger rows', async () => {
    await using db = await createTestDatabase('e2e_secret');
    const password = new URL(db.url).password;
    expect(password.length).toBeGreaterThan(8);
    await seedItems(db, 10);
    const outputs: string[] = [];
    const collect = (r: { stdout: string; stderr: string }) => outputs.push(r.stdout, r.stderr);
    collect(await leapfrog(['baseline', '--release', '2023.1'], db.url));
    const env = { FX_ECHO_URL: '1', FX_FAIL: '2023.2:check:9' };
    const text = await leapfrog(['apply', '--to', '2023.2'], db.url, env);
    collect(text);
    expect(text.exitCode).toBe(1);
    expect(text.stdout).toContain('connecting to ***');
    collect(await leapfrog(['--output', 'json', 'apply', '--to', '2023.2'], db.url, env));
    collect(await leapfrog(['status'], db.url));
    collect(await leapfrog(['--output', 'json', 'status'], db.url));
    // Through DATABASE_URL instead of the flag.
    const { execa } = await import('execa');
    const { CLI, ROOT } = await import('./apply-helpers.js');
    const viaEnv = await execa('node', [CLI, 'apply', '--to', '2023.2', '--catalog', CATALOG, '--no-backup'], {
      cwd: ROOT,
      reject: false,
      env: { ...env, DATABASE_URL: db.url, CI: '1' },
    });
    collect(viaEnv);
    expect(viaEnv.exitCode).toBe(1);
    const ledger = await db.query<{ t: string }>(
      `SELECT concat_ws('|', (SELECT json_agg(r)::text FROM leapfrog.runs r), (SELECT json_agg(p)::text FROM leapfrog.phases p), (SELECT json_agg(s)::text FROM leapfrog.state s)) AS t`,
    );
    const everything = [...outputs, ledger[0]?.t ?? ''].join('\n');
    expect(everything).toContain('connecting to ***');
    expect(everything).not.toContain(password);
  });
});
