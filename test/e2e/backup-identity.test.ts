// Issue 9 with the built CLI, real PostgreSQL and the demo releases (process executor):
// a backup belongs to one database (refusals, `backups`, `restore`); a broken sidecar never hides
// the downgrade refusal; the pre-upgrade backup is taken after a green preflight; a red check
// behind schema changes names the backup and the restore command as the way back.
import { existsSync, readFileSync, watch } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoDatabase } from '../../src/demo/seed.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const KIT = join(ROOT, 'dist/kit/leapfrog-kit.mjs');
const NO_DOCKER = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };

let work: string;
let catalog: string;

function leapfrog(args: string[], url: string, backupDir?: string) {
  return execa(
    'node',
    [CLI, ...args, '--database-url', url, ...(backupDir === undefined ? [] : ['--backup-dir', backupDir])],
    {
      cwd: work,
      reject: false,
      env: { ...NO_DOCKER, NO_COLOR: '1', CI: '1', LEAPFROG_KIT_BUNDLE: KIT, PG_BIN: '' },
    },
  );
}

async function seededAt2023(prefix: string, catalogDir = catalog): Promise<TestDatabase> {
  const db = await createTestDatabase(prefix);
  await seedDemoDatabase(db.url, { rows: 500, catalogDir });
  const base = await leapfrog(['baseline', '--release', '2023.1', '--catalog', catalogDir], db.url);
  expect(base.exitCode, base.stderr).toBe(0);
  return db;
}

/** A copy of the demo releases with one line of 2023.2's manifest replaced. */
async function catalogWith(name: string, find: string, replace: string): Promise<string> {
  const dir = join(work, name, 'release-images');
  await cp(join(ROOT, 'release-images'), dir, { recursive: true });
  const manifest = join(dir, '2023.2', 'release.yaml');
  const text = await readFile(manifest, 'utf8');
  expect(text).toContain(find);
  await writeFile(manifest, text.replace(find, replace));
  return dir;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'leapfrog-e2e-identity-'));
  catalog = join(work, 'release-images');
  await cp(join(ROOT, 'release-images'), catalog, { recursive: true });
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('a backup belongs to one database', () => {
  it('two databases share a backup folder: refusals, backups and restore only offer the database its own', async () => {
    await using shop = await seededAt2023('e2e_shop');
    await using other = await seededAt2023('e2e_other');
    const dir = join(work, 'shared-backups');

    const apply = await leapfrog(['apply', '--to', '2023.2', '--catalog', catalog], shop.url, dir);
    expect(apply.exitCode, apply.stderr + apply.stdout).toBe(0);
    const [shopBackup] = await shop.query<{ path: string }>('SELECT path FROM leapfrog.backups');
    const shopDump = shopBackup?.path as string;
    // The other database's backup is newer, and at the release the downgrade asks for.
    const taken = await leapfrog(['backup', '--output', 'json'], other.url, dir);
    expect(taken.exitCode, taken.stderr).toBe(0);
    const otherDump = (JSON.parse(taken.stdout) as { path: string }).path;

    const downgrade = await leapfrog(['apply', '--to', '2023.1', '--catalog', catalog], shop.url, dir);
    expect(downgrade.exitCode, downgrade.stderr).toBe(5);
    expect(downgrade.stderr).toContain(`the way back is the backup ${shopDump}`);
    expect(downgrade.stderr).toContain(`leapfrog restore ${shopDump} --yes`);
    expect(downgrade.stderr).not.toContain(otherDump);

    // `backups` of shop lists its own backup only; --all shows the other one with its database.
    const listed = await leapfrog(['backups'], shop.url, dir);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(shopDump);
    expect(listed.stdout).not.toContain(otherDump);
    expect(listed.stdout).toContain(`to restore the newest: leapfrog restore ${shopDump} --yes`);
    const all = await leapfrog(['backups', '--all'], shop.url, dir);
    expect(all.stdout).toContain(otherDump);
    expect(all.stdout).toContain(`${other.name}#`);
    expect(all.stdout).toContain(`${shop.name}#`);

    // Restoring the other database's dump over shop is refused, naming both, unless asked for.
    const shopId = (await shop.query<{ id: string }>('SELECT database_id::text AS id FROM leapfrog.identity'))[0]
      ?.id as string;
    const otherId = (await other.query<{ id: string }>('SELECT database_id::text AS id FROM leapfrog.identity'))[0]
      ?.id as string;
    expect(shopId).not.toBe(otherId);
    const wrong = await leapfrog(['restore', otherDump, '--yes'], shop.url, dir);
    expect(wrong.exitCode, wrong.stderr).toBe(5);
    expect(wrong.stderr).toContain(`is of the database ${other.name} (id ${otherId}`);
    expect(wrong.stderr).toContain(`is ${shop.name} (id ${shopId}`);
    expect(wrong.stderr).toContain('--other-database');
    expect((await shop.query<{ release: string }>('SELECT release FROM leapfrog.state'))[0]?.release).toBe('2023.2');

    const meant = await leapfrog(['restore', otherDump, '--yes', '--other-database'], shop.url, dir);
    expect(meant.exitCode, meant.stderr).toBe(0);
    // The restored ledger is the dump's: shop now is (a copy of) the other database.
    expect((await shop.query<{ id: string }>('SELECT database_id::text AS id FROM leapfrog.identity'))[0]?.id).toBe(
      otherId,
    );
  });

  it('a broken sidecar of another backup is reported and skipped: the downgrade is still refused (exit 5)', async () => {
    await using shop = await seededAt2023('e2e_sidecar');
    const dir = join(work, 'broken-sidecar-backups');
    const apply = await leapfrog(['apply', '--to', '2023.2', '--catalog', catalog], shop.url, dir);
    expect(apply.exitCode, apply.stderr + apply.stdout).toBe(0);
    const [backup] = await shop.query<{ path: string }>('SELECT path FROM leapfrog.backups');
    await writeFile(join(dir, 'someone-else.dump.leapfrog.json'), '{"leapfrogBackup": 1, "id": ');
    // What a run stopped between the sidecar and the dump's rename leaves: never a way back.
    await writeFile(join(dir, 'stopped.dump.partial'), 'half a dump');
    const sidecar = JSON.parse(await readFile(`${backup?.path as string}.leapfrog.json`, 'utf8')) as Record<
      string,
      unknown
    >;
    await writeFile(
      join(dir, 'stopped.dump.leapfrog.json'),
      JSON.stringify({ ...sidecar, file: 'stopped.dump', createdAt: '2099-01-01T00:00:00.000Z' }),
    );

    const downgrade = await leapfrog(['apply', '--to', '2023.1', '--catalog', catalog], shop.url, dir);
    expect(downgrade.exitCode, downgrade.stderr).toBe(5);
    expect(downgrade.stderr).toContain(`the way back is the backup ${backup?.path as string}`);
    expect(downgrade.stderr).toMatch(/warning: skipped .*someone-else\.dump\.leapfrog\.json: .*not valid JSON/);
    expect(downgrade.stderr).toMatch(/warning: skipped .*stopped\.dump\.leapfrog\.json: unfinished backup/);
    const listed = await leapfrog(['backups'], shop.url, dir);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.stderr).toContain('someone-else.dump.leapfrog.json');
    expect(listed.stdout).not.toContain('stopped.dump');
  });
});

describe('a ledger older than the identity', () => {
  it('`leapfrog backup` brings it up to date and records the identity with the backup', async () => {
    await using db = await seededAt2023('e2e_oldledger');
    // The ledger as a leapfrog before migration 2 left it.
    await db.query(`DROP TABLE leapfrog.identity;
      ALTER TABLE leapfrog.backups DROP COLUMN database_id, DROP COLUMN system_identifier, DROP COLUMN database_name;
      DELETE FROM leapfrog.ledger_migrations WHERE id = 2`);
    const taken = await leapfrog(['backup', '--output', 'json'], db.url, join(work, 'old-ledger-backups'));
    expect(taken.exitCode, taken.stderr).toBe(0);
    const record = JSON.parse(taken.stdout) as { databaseId: string; databaseName: string; inLedger: boolean };
    const [identity] = await db.query<{ id: string }>('SELECT database_id::text AS id FROM leapfrog.identity');
    expect(record).toMatchObject({ databaseId: identity?.id, databaseName: db.name, inLedger: true });
    expect(await db.query('SELECT database_id::text AS id FROM leapfrog.backups')).toEqual([{ id: identity?.id }]);
  });
});

describe('a backup stopped at the worst moment', () => {
  it('the instant a dump gets its final name, its sidecar is already complete (the process is frozen there, then killed)', async () => {
    await using db = await seededAt2023('e2e_kill');
    // A dump of some megabytes, so that digesting it takes a while: the old order (rename, digest,
    // then sidecar) left a finished-looking dump without a sidecar for that long.
    await db.query(
      `CREATE TABLE bulk AS SELECT g AS id, md5(g::text) || md5((g * 3)::text) AS pad FROM generate_series(1, 300000) g`,
    );
    const dir = join(work, 'kill-backups');
    await mkdir(dir, { recursive: true });
    const child = leapfrog(['backup'], db.url, dir);
    let frozenWith: { dump: string; sidecar: string | null } | undefined;
    const watcher = watch(dir, (_event, name) => {
      if (frozenWith !== undefined || name === null || !name.endsWith('.dump')) return;
      // Freeze leapfrog right there: what a kill at this instant leaves is what is on disk now.
      child.kill('SIGSTOP');
      const sidecar = join(dir, `${name}.leapfrog.json`);
      frozenWith = { dump: name, sidecar: existsSync(sidecar) ? readFileSync(sidecar, 'utf8') : null };
      child.kill('SIGKILL');
    });
    try {
      await child;
    } finally {
      watcher.close();
    }
    expect(frozenWith, 'the dump got its final name').toBeDefined();
    expect(frozenWith?.sidecar, 'the sidecar existed when the dump got its name').not.toBeNull();
    const sidecar = JSON.parse(frozenWith?.sidecar as string) as { file: string; sha256: string };
    expect(sidecar.file).toBe(frozenWith?.dump);
    expect(sidecar.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('the pre-upgrade backup and the way back', () => {
  it('a refusing preflight costs no dump', async () => {
    const refusing = await catalogWith(
      'red-preflight',
      'preflight: { run: [leapfrog-kit, check, --json, --preflight], protocol: upgradecheck }',
      'preflight: { run: [sh, -c, "echo not ready >&2; exit 2"], protocol: upgradecheck }',
    );
    await using db = await seededAt2023('e2e_preflight', refusing);
    const dir = join(work, 'preflight-backups');
    const apply = await leapfrog(['apply', '--to', '2023.2', '--catalog', refusing], db.url, dir);
    expect(apply.exitCode, apply.stderr + apply.stdout).toBe(3);
    expect(apply.stderr).toContain('preflight');
    expect(await readdir(dir).catch(() => [])).toEqual([]);
    expect(await db.query('SELECT 1 FROM leapfrog.backups')).toHaveLength(0);
  });

  it('a red check after the schema changes names the pre-upgrade backup and the restore command; status says the same', async () => {
    const red = await catalogWith(
      'red-check',
      'check: { run: [leapfrog-kit, check, --json], protocol: upgradecheck }',
      'check: { run: [sh, -c, "echo cells missing >&2; exit 2"], protocol: upgradecheck }',
    );
    await using db = await seededAt2023('e2e_redcheck', red);
    const dir = join(work, 'red-check-backups');
    const apply = await leapfrog(['apply', '--to', '2023.2', '--catalog', red], db.url, dir);
    expect(apply.exitCode, apply.stderr + apply.stdout).toBe(3);
    const [backup] = await db.query<{ path: string; release: string }>('SELECT path, release FROM leapfrog.backups');
    expect(backup?.release).toBe('2023.1');
    const restore = `leapfrog restore ${backup?.path as string} --yes`;
    expect(apply.stderr).toContain('fix what the check reports');
    expect(apply.stderr).toContain(`go back to 2023.1 with the pre-upgrade backup ${backup?.path as string}`);
    expect(apply.stderr).toContain(restore);

    const status = await execa('node', [CLI, 'status', '--database-url', db.url], {
      cwd: work,
      reject: false,
      env: { CI: '1', NO_COLOR: '1' },
    });
    expect(status.exitCode, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/next: .*fix what the check reports/);
    expect(status.stdout).toContain(restore);
  });
});
