// The operator's safety story with the built CLI, real PostgreSQL, the demo releases and the
// process executor: apply takes a backup after its preflight, before its first schema command; a downgrade is
// refused naming that backup; a failed upgrade is undone by one restore command to the exact
// pre-upgrade state (checksums); an old pg_dump is refused before anything runs.
import { chmod, cp, mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseTargetFromUrl } from '../../src/pg/database-target.js';
import { withClient } from '../../src/pg/with-client.js';
import { fingerprintDatabase, type DatabaseFingerprint } from '../helpers/database-fingerprint.js';
import { seedDemoDatabase } from '../../src/demo/seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const KIT = join(ROOT, 'dist/kit/leapfrog-kit.mjs');

// These tests use the process executor: plans must not pin image digests that other tests'
// image builds would then make stale.
const NO_DOCKER = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };

let work: string;
let catalog: string;
let brokenCatalog: string;

function leapfrog(args: string[], url: string, options: { catalog?: string; backupDir?: boolean } = {}) {
  const withDir = options.backupDir === false ? [] : ['--backup-dir', join(work, 'backups')];
  return execa('node', [CLI, ...args, '--database-url', url, ...withDir], {
    cwd: work,
    reject: false,
    env: { ...NO_DOCKER, NO_COLOR: '1', CI: '1', LEAPFROG_KIT_BUNDLE: KIT, PG_BIN: '' },
  });
}

function plan(args: string[], which: string) {
  return execa('node', [CLI, 'plan', ...args, '--catalog', which], {
    cwd: work,
    reject: false,
    env: { ...NO_DOCKER, NO_COLOR: '1', CI: '1' },
  });
}

function withCatalog(args: string[], which: string): string[] {
  return [...args, '--catalog', which];
}

function fingerprint(db: TestDatabase): Promise<DatabaseFingerprint> {
  return withClient(databaseTargetFromUrl(db.url), fingerprintDatabase);
}

async function seededAt2023(prefix: string): Promise<TestDatabase> {
  const db = await createTestDatabase(prefix);
  await seedDemoDatabase(db.url, { rows: 2000, catalogDir: catalog });
  const base = await leapfrog(withCatalog(['baseline', '--release', '2023.1'], catalog), db.url, { backupDir: false });
  expect(base.exitCode, base.stderr).toBe(0);
  return db;
}

/**
 * Exactly the state before the upgrade: every table and column, every sequence, the ledger's
 * release. The additions are by design: the backup is taken inside the run, after its green
 * preflight and right before its first schema command, so the restored ledger holds that run's
 * row (still marked running; the next run closes it as interrupted), which records that an
 * upgrade was attempted, and the preflight's row (it read the database exactly as restored).
 * `leapfrog.phases` and its id sequence, and `leapfrog.backups` (the run's own row, written
 * after the dump), are compared by content below.
 */
async function expectPreUpgradeState(
  db: TestDatabase,
  before: DatabaseFingerprint,
  backupRunId: string,
): Promise<void> {
  const after = await fingerprint(db);
  // lock_fence is lock bookkeeping like runs: the dump holds the fencing token of the run that
  // took it (bumped when that run took the lock), so it differs from the state before that run.
  const ledgerTables = ['leapfrog.runs', 'leapfrog.phases', 'leapfrog.lock_fence'];
  const without = (tables: Record<string, string>) =>
    Object.fromEntries(Object.entries(tables).filter(([k]) => !ledgerTables.includes(k)));
  expect(without(after.tables)).toEqual(without(before.tables));
  expect(after.columns).toBe(before.columns);
  const { 'leapfrog.phases_id_seq': _a, ...sequencesAfter } = after.sequences;
  const { 'leapfrog.phases_id_seq': _b, ...sequencesBefore } = before.sequences;
  expect(sequencesAfter).toEqual(sequencesBefore);
  expect(before.tables['leapfrog.runs']).toBe('0:-');
  expect(before.tables['leapfrog.phases']).toBe('0:-');
  const runs = await db.query<{ id: string; status: string }>('SELECT id, status FROM leapfrog.runs');
  expect(runs).toEqual([{ id: backupRunId, status: 'running' }]);
  const phases = await db.query<{ phase: string; status: string }>('SELECT phase, status FROM leapfrog.phases');
  expect(phases).toEqual([{ phase: 'preflight', status: 'succeeded' }]);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'leapfrog-e2e-safety-'));
  catalog = join(work, 'release-images');
  await cp(join(ROOT, 'release-images'), catalog, { recursive: true });
  // The same releases, except that 2025.1 fails after its real schema migration has run:
  // the half-upgraded state a restore must undo.
  brokenCatalog = join(work, 'broken', 'release-images');
  await cp(join(ROOT, 'release-images'), brokenCatalog, { recursive: true });
  const manifest = join(brokenCatalog, '2025.1', 'release.yaml');
  const text = await readFile(manifest, 'utf8');
  await writeFile(
    manifest,
    text.replace(
      '    - { name: db, run: [leapfrog-kit, schema] }',
      '    - { name: db, run: [leapfrog-kit, schema] }\n    - { name: broken, run: [sh, -c, "echo boom >&2; exit 1"] }',
    ),
  );
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('backup before upgrading, downgrade refused, restore', () => {
  it('apply backs up first; a downgrade names that backup; restore brings back the exact pre-upgrade state', async () => {
    await using db = await seededAt2023('e2e_safety');
    const before = await fingerprint(db);

    const apply = await leapfrog(withCatalog(['apply', '--to', '2024.1'], catalog), db.url);
    expect(apply.exitCode, apply.stderr + apply.stdout).toBe(0);
    expect(apply.stderr).toMatch(/backup of .* at release 2023\.1 written to .*\.dump/);
    const backups = await db.query<{ release: string; path: string; sha256: string; run_id: string | null }>(
      'SELECT release, path, sha256, run_id FROM leapfrog.backups',
    );
    expect(backups).toHaveLength(1);
    expect(backups[0]?.release).toBe('2023.1');
    expect(backups[0]?.run_id).not.toBeNull();
    const backupPath = backups[0]?.path as string;

    // Listed from the ledger and the sidecar; and from the sidecar alone without a database.
    const listed = await execa('node', [CLI, 'backups', '--backup-dir', join(work, 'backups'), '--output', 'json'], {
      cwd: work,
      reject: false,
      env: { CI: '1' },
    });
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(backupPath);

    const downgrade = await leapfrog(withCatalog(['apply', '--to', '2023.2'], catalog), db.url);
    expect(downgrade.exitCode).toBe(5);
    expect(downgrade.stderr).toContain('refusing to downgrade');
    expect(downgrade.stderr).toContain(backupPath);
    expect(downgrade.stderr).toContain(
      `next: leapfrog restore ${backupPath} --yes --database-url <url> --backup-dir ${join(work, 'backups')} then \`leapfrog apply --to 2023.2 --catalog ${catalog} --database-url <url> --backup-dir ${join(work, 'backups')}\``,
    );
    expect(downgrade.stderr).not.toContain(new URL(db.url).password);

    const refused = await leapfrog(['restore', backupPath], db.url);
    expect(refused.exitCode).toBe(5);
    expect(refused.stderr).toContain('--yes');

    const restore = await leapfrog(['restore', backupPath, '--yes'], db.url);
    expect(restore.exitCode, restore.stderr).toBe(0);
    expect(restore.stdout).toContain('sha256 verified');
    expect(restore.stdout).toContain('at release 2023.1');
    await expectPreUpgradeState(db, before, backups[0]?.run_id as string);
  });

  it('a step failing in the middle of a plan, then one restore: the database is exactly as before the upgrade', async () => {
    await using db = await seededAt2023('e2e_midplan');
    const before = await fingerprint(db);
    const planFile = join(work, 'broken-plan.json');
    const planned = await plan(['--from', '2023.1', '--to', '2025.1', '--out', planFile], brokenCatalog);
    expect(planned.exitCode, planned.stderr).toBe(0);

    const apply = await leapfrog(withCatalog(['apply', '--plan', planFile], brokenCatalog), db.url);
    expect(apply.exitCode).toBe(1);
    expect(apply.stderr).toContain('boom');
    const state = await db.query<{ release: string }>('SELECT release FROM leapfrog.state');
    expect(state[0]?.release).toBe('2024.1');
    expect(await fingerprint(db)).not.toEqual(before);

    const [backup] = await db.query<{ path: string; release: string; run_id: string }>(
      'SELECT path, release, run_id FROM leapfrog.backups',
    );
    expect(backup?.release).toBe('2023.1');
    const restore = await leapfrog(['restore', backup?.path as string, '--yes'], db.url);
    expect(restore.exitCode, restore.stderr).toBe(0);
    await expectPreUpgradeState(db, before, backup?.run_id as string);
  });

  it('step backs up on the first step of a plan only; a resumed run takes no other; --backup asks for one', async () => {
    await using db = await seededAt2023('e2e_steps');
    const planFile = join(work, 'steps-plan.json');
    expect((await plan(['--from', '2023.1', '--to', '2025.1', '--out', planFile], brokenCatalog)).exitCode).toBe(0);
    const first = await leapfrog(withCatalog(['step', '--plan', planFile], brokenCatalog), db.url);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stderr).toContain('at release 2023.1 written to');
    // The second step (the broken 2025.1) runs without a backup, fails, and its re-run resumes
    // the half-migrated step: still no backup of that state.
    const second = await leapfrog(withCatalog(['step', '--plan', planFile], brokenCatalog), db.url);
    expect(second.exitCode).toBe(1);
    const resumed = await leapfrog(withCatalog(['step', '--plan', planFile], brokenCatalog), db.url);
    expect(resumed.exitCode).toBe(1);
    expect(resumed.stderr).not.toContain('written to');
    const apply = await leapfrog(withCatalog(['apply', '--plan', planFile], brokenCatalog), db.url);
    expect(apply.exitCode).toBe(1);
    expect((await db.query<{ release: string }>('SELECT release FROM leapfrog.backups')).map((r) => r.release)).toEqual(
      ['2023.1'],
    );
    const forced = await leapfrog(withCatalog(['step', '--plan', planFile, '--backup'], brokenCatalog), db.url);
    expect(forced.exitCode).toBe(1);
    expect(
      (await db.query<{ release: string }>('SELECT release FROM leapfrog.backups ORDER BY created_at')).map(
        (r) => r.release,
      ),
    ).toEqual(['2023.1', '2024.1']);
  });

  it('an old pg_dump is refused before anything runs, naming both versions (exit 2)', async () => {
    await using db = await seededAt2023('e2e_oldpgdump');
    const before = await fingerprint(db);
    // A fake binary standing in for a real older pg_dump: only its --version answer matters,
    // because the guard must refuse before any dump (or any migration) is attempted.
    const fake = join(work, 'old-pg-bin');
    await mkdir(fake, { recursive: true });
    for (const tool of ['pg_dump', 'pg_restore']) {
      await writeFile(join(fake, tool), `#!/bin/sh\necho "${tool} (PostgreSQL) 13.4"\n`);
      await chmod(join(fake, tool), 0o755);
    }
    const apply = await leapfrog(withCatalog(['apply', '--to', '2024.1', '--pg-bin', fake], catalog), db.url);
    expect(apply.exitCode).toBe(2);
    expect(apply.stderr).toContain('pg_dump 13.4');
    expect(apply.stderr).toMatch(/PostgreSQL 15\.\d+/);
    expect(apply.stderr).toContain('--pg-bin /usr/lib/postgresql/15/bin');
    expect(await db.query('SELECT 1 FROM leapfrog.runs')).toHaveLength(0);
    expect(await fingerprint(db)).toEqual(before);
  });
});

describe('backup and restore on demand', () => {
  it('backup, restore by id into a new database (--create), and a corrupted dump refused (exit 2)', async () => {
    await using db = await seededAt2023('e2e_ondemand');
    // The state the dump holds: the ledger row recording the backup is written after the dump.
    const dumped = await fingerprint(db);
    const dir = join(work, 'ondemand');
    const taken = await leapfrog(['backup', '--backup-dir', dir, '--output', 'json'], db.url, { backupDir: false });
    expect(taken.exitCode, taken.stderr).toBe(0);
    const record = JSON.parse(taken.stdout) as {
      id: string;
      path: string;
      release: string;
      sha256: string;
      inLedger: boolean;
    };
    expect(record.release).toBe('2023.1');
    expect(record.inLedger).toBe(true);
    expect(taken.stdout).not.toContain(new URL(db.url).password);

    const copyUrl = new URL(db.url);
    copyUrl.pathname = `/${db.name}_copy`;
    try {
      const restored = await leapfrog(['restore', record.id, '--backup-dir', dir, '--create'], copyUrl.toString(), {
        backupDir: false,
      });
      expect(restored.exitCode, restored.stderr).toBe(0);
      expect(restored.stdout).toContain('into the new database');
      expect(restored.stdout).toContain('at release 2023.1');
      const copy = { ...db, url: copyUrl.toString() };
      expect(await fingerprint(copy)).toEqual(dumped);
    } finally {
      const { adminQuery } = await import('../helpers/database.js');
      await adminQuery(`DROP DATABASE IF EXISTS "${db.name}_copy" WITH (FORCE)`);
    }

    const bytes = await readFile(record.path);
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] ?? 0) ^ 0x55;
    await writeFile(record.path, bytes);
    const corrupt = await leapfrog(['restore', record.path, '--yes'], db.url, { backupDir: false });
    expect(corrupt.exitCode).toBe(2);
    expect(corrupt.stderr).toContain('is corrupted');
    expect(corrupt.stderr).toContain(record.sha256);
  });
});

describe('rehearse with the CLI', () => {
  it('rehearses a plan on a clone, writes JSON and HTML reports, leaves production untouched', async () => {
    await using db = await seededAt2023('e2e_rehearse');
    const before = await fingerprint(db);
    const planFile = join(work, 'rehearse-plan.json');
    expect((await plan(['--from', '2023.1', '--to', '2025.1', '--out', planFile], catalog)).exitCode).toBe(0);

    const usage = await leapfrog(withCatalog(['rehearse', '--plan', planFile], catalog), db.url, { backupDir: false });
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr).toContain('exactly one of --from-backup FILE or --clone');

    const reports = join(work, 'reports');
    const result = await leapfrog(
      withCatalog(['rehearse', '--plan', planFile, '--clone', '--report-dir', reports], catalog),
      db.url,
      { backupDir: false },
    );
    expect(result.exitCode, result.stderr + result.stdout).toBe(0);
    expect(result.stdout).toContain('rehearsal succeeded: 2023.1 -> 2024.1 -> 2025.1');
    const html = /report: (\S+\.html)/.exec(result.stdout)?.[1] as string;
    const json = JSON.parse(await readFile(html.replace(/\.html$/, '.json'), 'utf8')) as {
      status: string;
      finalRelease: string;
      timeline: { phase: string }[];
    };
    expect(json.status).toBe('succeeded');
    expect(json.finalRelease).toBe('2025.1');
    expect(json.timeline.filter((e) => e.phase === 'check')).toHaveLength(2);
    expect(await readFile(html, 'utf8')).toContain('<svg');
    expect(result.stdout + result.stderr).not.toContain(new URL(db.url).password);
    expect(await fingerprint(db)).toEqual(before);
  });
});
