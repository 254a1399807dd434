// LEAPFROG_DEBUG end to end: the built CLI logs its side effects (connections, child processes)
// on stderr, keeps stdout the renderer's (JSON lines stay parseable), and never logs a secret.
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { leapfrog, seedItems } from './apply-helpers.js';

describe('LEAPFROG_DEBUG', () => {
  it('logs connections and phase commands on stderr, redacted, with stdout untouched', async () => {
    await using db = await createTestDatabase('e2e_debug_log');
    const password = new URL(db.url).password;
    await seedItems(db, 10);
    expect((await leapfrog(['baseline', '--release', '2023.1'], db.url)).exitCode).toBe(0);
    // FX_ECHO_URL makes the fixture print the URL it was given: the debug log must not carry it either.
    const result = await leapfrog(['--output', 'json', 'apply', '--to', '2023.2'], db.url, {
      LEAPFROG_DEBUG: '1',
      FX_ECHO_URL: '1',
    });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(/leapfrog\[debug\] \+\d+ms pg: connecting to 127\.0\.0\.1:\d+\/e2e_debug_log/);
    expect(result.stderr).toMatch(/executor:process: spawned `.+` \(release 2023\.2, phase \w+\)/);
    expect(result.stderr).toMatch(/executor:process: pid \d+ ended: exit 0/);
    expect(`${result.stdout}${result.stderr}`).not.toContain(password);
    for (const line of result.stdout.trim().split('\n')) expect(() => JSON.parse(line) as unknown).not.toThrow();

    const quiet = await leapfrog(['status'], db.url);
    expect(quiet.stderr).not.toContain('leapfrog[debug]');
    const scoped = await leapfrog(['status'], db.url, { LEAPFROG_DEBUG: 'executor' });
    expect(scoped.stderr).not.toContain('leapfrog[debug]');
  });
});
