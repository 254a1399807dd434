// `leapfrog demo --fleet` on a real pseudo-terminal, as a person watching it (issue 12). On a
// terminal the fleet's progress is a board: finished targets stay, one line each, and the running
// ones are redrawn in place instead of scrolling a line per phase per target. Ctrl-C goes to the
// terminal's whole foreground group; the demo's own PostgreSQL server used to be in it, took the
// SIGINT as "fast shutdown" and ended every session, so each running tenant was reported as
// "lost the ledger lock" instead of interrupted.
import { describe, expect, it } from 'vitest';
import { CLI, waitFor } from './apply-helpers.js';
import { plainText, runInPty, terminalEnv } from './terminal-pty.js';

describe('demo --fleet on a terminal', () => {
  it('shows a board: each finished target once, the running ones redrawn in place with their phase', async () => {
    const run = runInPty(['node', CLI, 'demo', '--fleet', '--tenants', '3'], terminalEnv());
    const result = await run.process;
    const screen = run.screen();
    const text = plainText(screen);
    expect(result.exitCode, text).toBe(0);
    for (const target of ['identity', 'compute-api', 'cell1', 'cell2']) {
      // Lockstep: once at each release of the fleet's path.
      expect(text.split(`✔ ${target} at 2024.1`).length - 1, target).toBe(1);
      expect(text.split(`✔ ${target} at 2025.1`).length - 1, target).toBe(1);
    }
    for (const tenant of ['tenant-01', 'tenant-02', 'tenant-03'])
      expect(text.split(`✔ ${tenant} at 2025.1`).length - 1, tenant).toBe(1);
    // The live block: the counts and a running target with its release and phase, redrawn (the
    // cursor goes back up over it), never the pipe's scrolling line per phase.
    expect(text).toMatch(/\[\d\/3 done, \d running, 0 failed\]/);
    expect(text).toMatch(/tenant-0[23] \(tenants\) -> 2025\.1: 202[45]\.1 (preflight|schema db|data|check), /);
    expect(screen).toMatch(/\u001b\[\d+A\r\u001b\[J/);
    expect(text).not.toMatch(/^ {2}tenant-0\d: 202[45]\.1 /m);
    expect(text).toContain('demo: both fleets are at 2025.1');
  }, 180_000);

  it('Ctrl-C: the running tenants are interrupted (exit 130), not "lost the ledger lock"', async () => {
    const run = runInPty(['node', CLI, 'demo', '--fleet', '--tenants', '4'], terminalEnv());
    // The canary is done and the other tenants walk.
    await waitFor(() => Promise.resolve(/✔ tenant-01 at 2025\.1/.test(plainText(run.screen()))), 150_000);
    await waitFor(
      () => Promise.resolve(/tenant-0[2-4] \(tenants\) -> 2025\.1: 2024\.1/.test(plainText(run.screen()))),
      60_000,
    );
    run.type('\u0003');
    const result = await run.process;
    const text = plainText(run.screen());
    expect(result.exitCode, text).toBe(130);
    expect(text).toMatch(/tenant-0[2-4] +tenants +\S+ +failed +130 +interrupted during release/);
    expect(text).not.toContain('lost the ledger lock');
    expect(text).toContain('the fleet demo was interrupted');
    // The demo's fleet files are gone once it exits: no hint may tell the user to re-run one.
    expect(text).not.toMatch(/re-run `leapfrog apply --fleet|^next: leapfrog apply --fleet/m);
    expect(text).toContain('after the interrupted upgrade as before');
  }, 240_000);
});
