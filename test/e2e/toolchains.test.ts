// Per-release toolchains (issue 11, item 6): `toolchains install|list` on a copy of the fixture
// catalog whose local.install builds bin/<tool> without a network, and the refusal of `apply`
// with the process executor before anything runs when a toolchain on its path is missing (exit 2)
// or stale (exit 6). The built CLI, a real PostgreSQL, real child processes.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { CLI, ROOT, currentRelease, waitFor } from './apply-helpers.js';
import { plainText, runInPty, terminalEnv } from './terminal-pty.js';

const FIXTURE = join(ROOT, 'test/fixtures/catalogs/toolchains');
const MARKER = '.leapfrog-toolchain.json';
const LOCK = '.leapfrog-toolchain.lock';

let work: string;
let catalog: string;

beforeEach(() => {
  // A copy: installs write bin/, markers and logs into release folders, never into the tree.
  work = mkdtempSync(join(tmpdir(), 'leapfrog-toolchains-'));
  catalog = join(work, 'catalog');
  cpSync(FIXTURE, catalog, { recursive: true });
});

afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

function leapfrog(args: string[], env: Record<string, string> = {}) {
  return execa('node', [CLI, ...args, '--catalog', catalog], {
    cwd: ROOT,
    reject: false,
    env: { NO_COLOR: '1', CI: '1', ...env },
  });
}

function run(args: string[], db: TestDatabase) {
  return leapfrog([...args, '--database-url', db.url, '--no-backup']);
}

const inRelease = (release: string, file: string) => join(catalog, release, file);

interface ListJson {
  type: 'summary';
  toolchains: { release: string; state: string; install: string[] | null; installedAt: string | null }[];
}

async function states(): Promise<Record<string, string>> {
  const list = await leapfrog(['toolchains', 'list', '--output', 'json']);
  expect(list.exitCode, list.stderr).toBe(0);
  const summary = JSON.parse(list.stdout.trim()) as ListJson;
  return Object.fromEntries(summary.toolchains.map((t) => [t.release, t.state]));
}

async function baselined(prefix: string): Promise<TestDatabase> {
  const db = await createTestDatabase(prefix);
  const baseline = await leapfrog(['baseline', '--release', '1.0', '--no-verify', '--database-url', db.url]);
  expect(baseline.exitCode, baseline.stderr).toBe(0);
  return db;
}

describe('toolchains install and list', () => {
  it('installs each toolchain once, with a clean environment, and skips it while the marker is current', async () => {
    expect(await states()).toEqual({ '1.0': 'not-needed', '1.1': 'missing', '1.2': 'missing' });
    const human = await leapfrog(['toolchains', 'list']);
    expect(human.stdout).toContain('0 of 2 toolchains installed');
    expect(human.stdout).toMatch(/1\.1 +sh \.\.\/install-tool\.sh tool11 +MISSING/);
    expect(human.stdout).toMatch(/1\.0 +- +not needed/);
    expect(human.stdout).toContain(`next: leapfrog toolchains install --catalog ${catalog}`);

    const first = await leapfrog(['toolchains', 'install'], {
      DATABASE_URL: 'postgres://app:production-secret@db.internal/shop',
      PGPASSWORD: 'production-secret',
      PGHOST: 'db.internal',
      npm_config_cache: join(work, 'npm-cache'),
    });
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stderr).toContain('1.0: nothing to install (no local.install)');
    expect(first.stderr).toContain(`[1/2] 1.1: installing: sh ../install-tool.sh tool11 (in ${join(catalog, '1.1')})`);
    expect(first.stderr).toContain('  1.1 | installed tool11');
    expect(first.stdout).toContain('installed 2 toolchains');
    expect(existsSync(inRelease('1.1', 'bin/tool11'))).toBe(true);
    expect(existsSync(inRelease('1.1', LOCK))).toBe(false);

    // The install saw PATH, HOME and npm's cache setting, and nothing that selects a database.
    const env = readFileSync(inRelease('1.1', 'install-env.txt'), 'utf8');
    expect(env).toMatch(/^PATH=/m);
    expect(env).toMatch(/^HOME=/m);
    expect(env).toContain(`npm_config_cache=${join(work, 'npm-cache')}`);
    expect(env).not.toContain('production-secret');
    expect(env).not.toMatch(/^(DATABASE_URL|PG[A-Z]*)=/m);
    expect(env).not.toMatch(/^NO_COLOR=/m);

    const marker = JSON.parse(readFileSync(inRelease('1.1', MARKER), 'utf8')) as Record<string, unknown>;
    expect(marker).toMatchObject({
      markerVersion: 1,
      release: '1.1',
      install: ['sh', '../install-tool.sh', 'tool11'],
      leapfrogVersion: expect.any(String) as unknown,
    });
    expect(marker['manifestDigest']).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await states()).toEqual({ '1.0': 'not-needed', '1.1': 'installed', '1.2': 'installed' });

    // Second time: nothing runs (the install would rewrite install-env.txt).
    rmSync(inRelease('1.1', 'install-env.txt'));
    const second = await leapfrog(['toolchains', 'install', '--output', 'json']);
    expect(second.exitCode, second.stderr).toBe(0);
    const lines = second.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; toolchains?: unknown });
    expect(lines.filter((l) => l.type === 'toolchain-install-started')).toEqual([]);
    expect(lines.at(-1)).toEqual({
      type: 'summary',
      toolchains: [
        { release: '1.0', outcome: 'not-needed', seconds: null },
        { release: '1.1', outcome: 'already-installed', seconds: null },
        { release: '1.2', outcome: 'already-installed', seconds: null },
      ],
    });
    expect(existsSync(inRelease('1.1', 'install-env.txt'))).toBe(false);

    // --force and --release: exactly that one runs again.
    const forced = await leapfrog(['toolchains', 'install', '--release', '1.1', '--force']);
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('installed 1 toolchain\n');
    expect(existsSync(inRelease('1.1', 'install-env.txt'))).toBe(true);
  });

  it('calls a toolchain stale once its manifest changes, and installs it again', async () => {
    expect((await leapfrog(['toolchains', 'install'])).exitCode).toBe(0);
    appendFileSync(inRelease('1.2', 'release.yaml'), '# edited after the install\n');
    expect(await states()).toEqual({ '1.0': 'not-needed', '1.1': 'installed', '1.2': 'stale' });
    const human = await leapfrog(['toolchains', 'list']);
    expect(human.stdout).toContain('1 of 2 toolchains installed');
    expect(human.stdout).toContain('STALE (manifest changed: re-install)');
    expect(human.stdout).toContain(`next: leapfrog toolchains install --release 1.2 --catalog ${catalog}`);

    const again = await leapfrog(['toolchains', 'install']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toContain('1.1: already installed (marker current), skipped');
    expect(again.stderr).toContain('[2/2] 1.2: installing');
    expect(await states()).toEqual({ '1.0': 'not-needed', '1.1': 'installed', '1.2': 'installed' });
  });

  it('a failed install exits 1 with its output tail and the command to re-run, and leaves no marker', async () => {
    expect((await leapfrog(['toolchains', 'install'])).exitCode).toBe(0);
    // Even a toolchain that was installed before loses its marker when its re-install fails.
    writeFileSync(inRelease('1.2', 'fail'), '');
    const failed = await leapfrog(['toolchains', 'install', '--release', '1.2', '--force']);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain(
      `leapfrog: release 1.2: local.install \`sh ../install-tool.sh tool12\` in ${join(catalog, '1.2')} failed (exit 3); no marker was written`,
    );
    expect(failed.stderr).toContain('  last output:\n    cannot build tool12');
    expect(failed.stderr).toContain(
      `next: fix the cause above, then \`leapfrog toolchains install --release 1.2 --catalog ${catalog}\``,
    );
    expect(existsSync(inRelease('1.2', MARKER))).toBe(false);
    expect(existsSync(inRelease('1.2', LOCK))).toBe(false);
    expect(await states()).toMatchObject({ '1.2': 'missing' });

    const json = await leapfrog(['toolchains', 'install', '--output', 'json']);
    expect(json.exitCode).toBe(1);
    const error = JSON.parse(json.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(error).toMatchObject({
      type: 'error',
      exitCode: 1,
      error: 'PhaseFailedError',
      details: { release: '1.2', exitCode: 3, tail: ['cannot build tool12'] },
    });

    rmSync(inRelease('1.2', 'fail'));
    expect((await leapfrog(['toolchains', 'install', '--release', '1.2'])).exitCode).toBe(0);
    expect(await states()).toMatchObject({ '1.2': 'installed' });

    // An install command that does not exist, and a local.cwd that does not: each said as what it is.
    const manifest = inRelease('1.1', 'release.yaml');
    writeFileSync(
      manifest,
      readFileSync(manifest, 'utf8').replace(
        'install: [sh, ../install-tool.sh, tool11]',
        'install: [no-such-installer]',
      ),
    );
    const notFound = await leapfrog(['toolchains', 'install', '--release', '1.1']);
    expect(notFound.exitCode).toBe(1);
    expect(notFound.stderr).toContain('local.install `no-such-installer`');
    expect(notFound.stderr).toContain('cannot run it: command not found');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace('local: {', 'local: { cwd: nowhere,'));
    const noFolder = await leapfrog(['toolchains', 'install', '--release', '1.1']);
    expect(noFolder.exitCode).toBe(2);
    expect(noFolder.stderr).toContain(
      `the folder local.install runs in, ${join(catalog, '1.1', 'nowhere')} (local.cwd: nowhere), does not exist`,
    );
    expect(await states()).toMatchObject({ '1.1': 'missing' });
  });

  it('an install past --timeout is stopped: exit 1, no marker, no lock, the hint with a longer timeout', async () => {
    writeFileSync(inRelease('1.1', 'slow'), '');
    const slow = await leapfrog(['toolchains', 'install', '--release', '1.1', '--timeout', '1s']);
    expect(slow.exitCode).toBe(1);
    expect(slow.stderr).toContain('did not finish within 1000 ms and was stopped');
    expect(slow.stderr).toContain('    waiting for the slow file to go');
    expect(slow.stderr).toContain(`\`leapfrog toolchains install --release 1.1 --timeout 1h --catalog ${catalog}\``);
    expect(existsSync(inRelease('1.1', MARKER))).toBe(false);
    expect(existsSync(inRelease('1.1', LOCK))).toBe(false);
  });

  it('Ctrl-C stops the install (130) and leaves neither marker nor lock', async () => {
    writeFileSync(inRelease('1.1', 'slow'), '');
    const install = leapfrog(['toolchains', 'install', '--release', '1.1']);
    let stderr = '';
    install.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    await waitFor(() => Promise.resolve(stderr.includes('waiting for the slow file to go')), 20_000);
    expect(existsSync(inRelease('1.1', LOCK))).toBe(true);
    install.kill('SIGINT');
    const result = await install;
    expect(result.exitCode, result.stderr).toBe(130);
    expect(result.stderr).toContain('was stopped (interrupted); no marker was written');
    expect(result.stderr).toContain(
      `next: run it again: \`leapfrog toolchains install --release 1.1 --catalog ${catalog}\``,
    );
    expect(existsSync(inRelease('1.1', MARKER))).toBe(false);
    expect(existsSync(inRelease('1.1', LOCK))).toBe(false);
    expect(existsSync(inRelease('1.1', 'bin/tool11'))).toBe(false);
  });

  it('refuses a second install of a release while one runs (exit 4), and takes over a dead one’s lock', async () => {
    writeFileSync(inRelease('1.1', 'slow'), '');
    const first = leapfrog(['toolchains', 'install', '--release', '1.1']);
    let stderr = '';
    first.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    await waitFor(() => Promise.resolve(stderr.includes('waiting for the slow file to go')), 20_000);
    const second = await leapfrog(['toolchains', 'install', '--release', '1.1']);
    expect(second.exitCode).toBe(4);
    expect(second.stderr).toMatch(/release 1\.1: another install of its toolchain is running \(pid \d+ on /);
    expect(second.stderr).toContain(`next: wait for it, then \`leapfrog toolchains list --catalog ${catalog}\``);
    rmSync(inRelease('1.1', 'slow'));
    const done = await first;
    expect(done.exitCode, done.stderr).toBe(0);
    expect(await states()).toMatchObject({ '1.1': 'installed' });

    // A lock whose process died (kill -9 of an install) does not block the next install.
    const dead = await execa('node', ['-e', 'process.stdout.write(String(process.pid))']);
    const { hostname } = await import('node:os');
    writeFileSync(
      inRelease('1.2', LOCK),
      JSON.stringify({ pid: Number(dead.stdout), host: hostname(), startedAt: '2026-01-01T00:00:00.000Z' }),
    );
    const takeover = await leapfrog(['toolchains', 'install', '--release', '1.2']);
    expect(takeover.exitCode, takeover.stderr).toBe(0);
    expect(existsSync(inRelease('1.2', LOCK))).toBe(false);
  });
  it('on a terminal: a status line per release, rewritten with the latest output, then its result', async () => {
    writeFileSync(inRelease('1.1', 'slow'), '');
    const install = runInPty(['node', CLI, 'toolchains', 'install', '--catalog', catalog], terminalEnv());
    await waitFor(() => Promise.resolve(install.screen().includes('waiting for the slow file to go')), 20_000);
    // The status line is drawn in place (carriage return, erase line), not one line per output line.
    expect(install.screen()).toContain('\r\u001b[2K[1/2] 1.1: installing | waiting for the slow file to go');
    rmSync(inRelease('1.1', 'slow'));
    const result = await install.process;
    const text = plainText(install.screen());
    expect(result.exitCode, text).toBe(0);
    expect(text).toContain('1.1: installed in');
    expect(text).toContain('1.2: installed in');
    expect(text).not.toContain('  1.1 | installed tool11');
    expect(text).toContain('installed 2 toolchains');
  });
});

describe('step/apply with the process executor refuse a missing or stale toolchain before anything runs', () => {
  it('missing: exit 2 naming the release and the install command; installed: the tools are found on PATH', async () => {
    await using db = await baselined('e2e_toolchain_missing');
    const refused = await run(['apply', '--to', '1.2'], db);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(
      'the process executor needs the toolchain of releases 1.1 (local.install: sh ../install-tool.sh tool11), 1.2 (local.install: sh ../install-tool.sh tool12), which is not installed; nothing ran',
    );
    expect(refused.stderr).toContain(`next: install them: \`leapfrog toolchains install --catalog ${catalog}\``);
    expect(await currentRelease(db)).toBe('1.0');
    expect(await db.query('SELECT 1 FROM leapfrog.runs')).toEqual([]);

    // One release installed: the refusal names the other, with --release.
    expect((await leapfrog(['toolchains', 'install', '--release', '1.1'])).exitCode).toBe(0);
    const step = await run(['apply', '--to', '1.2', '--output', 'json'], db);
    expect(step.exitCode).toBe(2);
    const error = JSON.parse(step.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(error).toMatchObject({
      type: 'error',
      error: 'BadInputError',
      details: { missing: ['1.2'], stale: [] },
      hint: `install it: \`leapfrog toolchains install --release 1.2 --catalog ${catalog}\`, then run this command again`,
    });
    // Only the releases still to run count: 1.1 alone is on the way to 1.1.
    const toOne = await run(['apply', '--to', '1.1'], db);
    expect(toOne.exitCode, toOne.stderr).toBe(0);
    expect(readFileSync(inRelease('1.1', 'ran.log'), 'utf8')).toBe('tool11 schema\ntool11 check\n');

    expect((await leapfrog(['toolchains', 'install'])).exitCode).toBe(0);
    const applied = await run(['apply', '--to', '1.2'], db);
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(await currentRelease(db)).toBe('1.2');
    expect(readFileSync(inRelease('1.2', 'ran.log'), 'utf8')).toBe('tool12 schema\ntool12 check\n');
  });

  it("baseline's verification refuses a missing toolchain (exit 2) instead of calling the check red; installed, it verifies", async () => {
    await using db = await createTestDatabase('e2e_toolchain_baseline');
    const refused = await leapfrog(['baseline', '--release', '1.1', '--database-url', db.url]);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(
      'the process executor needs the toolchain of release 1.1 (local.install: sh ../install-tool.sh tool11), which is not installed; nothing ran',
    );
    expect(refused.stderr).toContain(
      `next: install it: \`leapfrog toolchains install --release 1.1 --catalog ${catalog}\`, then run this command again`,
    );
    expect(await db.query("SELECT 1 FROM pg_namespace WHERE nspname = 'leapfrog'")).toEqual([]);

    expect((await leapfrog(['toolchains', 'install', '--release', '1.1'])).exitCode).toBe(0);
    const verified = await leapfrog(['baseline', '--release', '1.1', '--database-url', db.url]);
    expect(verified.exitCode, verified.stderr).toBe(0);
    expect(await currentRelease(db)).toBe('1.1');
    expect(readFileSync(inRelease('1.1', 'ran.log'), 'utf8')).toBe('tool11 check\n');
  });

  it('stale: exit 6 (drift) naming the release and the re-install command; nothing ran', async () => {
    await using db = await baselined('e2e_toolchain_stale');
    expect((await leapfrog(['toolchains', 'install'])).exitCode).toBe(0);
    appendFileSync(inRelease('1.1', 'release.yaml'), '# edited after the install\n');
    const plan = join(work, 'plan.json');
    expect((await leapfrog(['plan', '--from', '1.0', '--to', '1.2', '--out', plan])).exitCode).toBe(0);
    const refused = await run(['step', '--plan', plan], db);
    expect(refused.exitCode).toBe(6);
    expect(refused.stderr).toContain(
      'the toolchain of release 1.1 (local.install: sh ../install-tool.sh tool11) was installed for another version of its manifest (release.yaml changed since); nothing ran',
    );
    expect(refused.stderr).toContain(
      `next: re-install it: \`leapfrog toolchains install --release 1.1 --catalog ${catalog}\`, then run this command again`,
    );
    expect(await currentRelease(db)).toBe('1.0');
    expect(existsSync(inRelease('1.1', 'ran.log'))).toBe(false);

    expect((await leapfrog(['toolchains', 'install'])).exitCode).toBe(0);
    const stepped = await run(['step', '--plan', plan], db);
    expect(stepped.exitCode, stepped.stderr).toBe(0);
    expect(await currentRelease(db)).toBe('1.1');
  });
});
