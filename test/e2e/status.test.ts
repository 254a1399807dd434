// `status` about a run that is going and about one whose process died (kill -9): the ledger
// still says running, but only a live run holds the lock. The built CLI on real PostgreSQL.
import { describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { currentRelease, leapfrog, seedItems, waitFor } from './apply-helpers.js';

async function dataRunning(db: TestDatabase): Promise<boolean> {
  return (await db.query("SELECT 1 FROM leapfrog.phases WHERE phase = 'data' AND status = 'running'")).length > 0;
}

async function statusJson(
  db: TestDatabase,
): Promise<{ running: unknown; lastRun: { status: string; alive: boolean | null } | null; next: string }> {
  const result = await leapfrog(['status', '--output', 'json'], db.url);
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout.trim()) as {
    running: unknown;
    lastRun: { status: string; alive: boolean | null } | null;
    next: string;
  };
}

describe('status of the last run', () => {
  it('a live run is running and alive; after kill -9 it is interrupted (process gone; no lock held) and the next command resumes it', async () => {
    await using db = await createTestDatabase('e2e_status_dead');
    await seedItems(db, 800);
    expect((await leapfrog(['baseline', '--release', '2023.1'], db.url)).exitCode).toBe(0);
    // Each data batch sleeps: the run is caught mid-phase. The fx command outlives a SIGKILLed CLI
    // (its own process group) for at most this long, and only then lets go of its connection.
    const run = leapfrog(['apply', '--to', '2023.2'], db.url, { FX_SLEEP_MS: '3000' });
    await waitFor(() => dataRunning(db));

    const live = await statusJson(db);
    expect(live.running).not.toBeNull();
    expect(live.lastRun).toMatchObject({ status: 'running', alive: true });

    run.kill('SIGKILL');
    await run;
    // PostgreSQL ends the dead session, and its advisory lock with it.
    await waitFor(async () => (await db.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory'")).length === 0);

    const dead = await statusJson(db);
    expect(dead.running).toBeNull();
    expect(dead.lastRun).toMatchObject({ status: 'running', alive: false });
    expect(dead.next).toContain('leapfrog apply --to 2023.2');

    const text = await leapfrog(['status'], db.url);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toContain('last run: apply 2023.1 -> 2023.2: interrupted (process gone; no lock held)');
    expect(text.stdout).not.toMatch(/last run: .*: running/);
    expect(text.stdout).toContain('next: leapfrog apply --to 2023.2');

    const resumed = await leapfrog(['apply', '--to', '2023.2'], db.url);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(await currentRelease(db)).toBe('2023.2');
    const after = await statusJson(db);
    expect(after.lastRun).toMatchObject({ status: 'succeeded', alive: null });
    // At the run's target: the way further is `plan` from where the ledger says (no --from to fill in).
    expect(after.next).toContain('leapfrog plan --to <release>');
    expect(after.next).toContain('starts from 2023.2');
    expect(after.next).not.toContain('<current>');
  });
});
