// Ctrl-C typed on a real pseudo-terminal during `apply`'s data phase (issue 9, item 3): the
// listr2 view is on screen, and the interrupt must end the run exactly as `kill -INT` does off a
// terminal: exit 130, the phase recorded interrupted, no run left running, the resume hint shown,
// and the cursor given back.
import { describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { CATALOG, CLI, phaseRows, seedItems, waitFor, leapfrog } from './apply-helpers.js';
import { plainText, runInPty, terminalEnv } from './terminal-pty.js';

async function dataRunning(db: TestDatabase): Promise<boolean> {
  const rows = await db.query(
    "SELECT 1 FROM leapfrog.phases WHERE release = '2023.2' AND phase = 'data' AND status = 'running'",
  );
  return rows.length > 0;
}

async function applyInTerminalThenCtrlC(presses: number): Promise<void> {
  await using db = await createTestDatabase('e2e_tty_int');
  await seedItems(db, 800);
  expect((await leapfrog(['baseline', '--release', '2023.1'], db.url)).exitCode).toBe(0);
  const run = runInPty(
    ['node', CLI, 'apply', '--to', '2023.2', '--catalog', CATALOG, '--database-url', db.url, '--no-backup'],
    terminalEnv({ FX_SLEEP_MS: '20000' }),
  );
  await waitFor(() => dataRunning(db));
  // The listr2 view is drawing (not the plain fallback): the cursor was hidden for it.
  await waitFor(() => Promise.resolve(run.screen().includes('\u001b[?25l')), 10_000);
  for (let i = 0; i < presses; i += 1) {
    run.type('\u0003');
    await new Promise((r) => setTimeout(r, 100));
  }
  const result = await run.process;
  const screen = run.screen();
  const text = plainText(screen);
  expect(result.exitCode, text).toBe(130);
  expect(text).toContain('interrupted during release 2023.2, phase data');
  expect(text).toMatch(/next: .*re-run `leapfrog apply --to 2023\.2/);
  // The terminal is given back: the last cursor command shows it.
  expect(screen.lastIndexOf('\u001b[?25h')).toBeGreaterThan(screen.lastIndexOf('\u001b[?25l'));
  expect((await phaseRows(db)).find((r) => r.phase === 'data')?.status).toBe('interrupted');
  expect(await db.query("SELECT 1 FROM leapfrog.runs WHERE status = 'running'")).toHaveLength(0);
  expect((await db.query<{ status: string }>('SELECT status FROM leapfrog.runs'))[0]?.status).toBe('interrupted');
  expect(await db.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory'")).toHaveLength(0);
}

describe('Ctrl-C on a terminal', () => {
  it('during the data phase: exit 130, phase interrupted, resume hint, cursor shown', async () => {
    await applyInTerminalThenCtrlC(1);
  });

  it('pressed twice: the second press does not cut the recording short', async () => {
    await applyInTerminalThenCtrlC(2);
  });
});
