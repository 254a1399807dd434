import { writeFile, mkdtemp, mkdir, readdir, readFile, rm, appendFile, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/pg/with-client.js';
import { databaseTargetFromUrl, type DatabaseTarget } from '../../src/pg/database-target.js';
import { fingerprintDatabase, type DatabaseFingerprint } from '../helpers/database-fingerprint.js';
import {
  prepareBackup,
  takeBackup,
  type BackupEvent,
  type BackupSettings,
  takeRecordedBackup,
} from '../../src/backup/take-backup.js';
import { resolvePgTools } from '../../src/backup/pg-tools.js';
import { locateBackup, readSidecar, knownBackupsOf } from '../../src/backup/backup-store.js';
import { verifyBackup, restoreBackup, restoredRelease } from '../../src/backup/restore-backup.js';
import { openPostgresLedger } from '../../src/ledger/open-ledger.js';
import { ledgerMigrations } from '../../src/ledger/migrations.js';
import { BadInputError, PhaseFailedError, RefusedError } from '../../src/errors/index.js';
import { createTestDatabase, urlForDatabase, adminQuery, type TestDatabase } from '../helpers/database.js';

function fingerprint(target: DatabaseTarget): Promise<DatabaseFingerprint> {
  return withClient(target, fingerprintDatabase);
}

/** A small application database with a leapfrog ledger at 2023.1. */
async function seed(db: TestDatabase): Promise<void> {
  await db.query(
    `CREATE TABLE instances (id serial PRIMARY KEY, name text NOT NULL, flavor int, created timestamptz DEFAULT now())`,
  );
  await db.query(`INSERT INTO instances (name, flavor) SELECT 'vm-' || g, g % 7 FROM generate_series(1, 3000) g`);
  await db.query(`CREATE INDEX ON instances (flavor)`);
  const ledger = await openPostgresLedger(databaseTargetFromUrl(db.url), { schema: 'leapfrog', migrate: true });
  await using l = ledger!;
  await l.setCurrentRelease({ release: '2023.1', version: '2023.1.0' });
}

describe('backup and restore', () => {
  let dir: string;
  let settings: BackupSettings;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lf-backup-'));
    settings = { dir, format: 'custom', jobs: 1, tools: await resolvePgTools(undefined, {}) };
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const format of ['custom', 'directory'] as const) {
    it(`round-trips data and ledger exactly (${format} format), recorded in ledger and sidecar`, async () => {
      await using db = await createTestDatabase('bk');
      await seed(db);
      const target = databaseTargetFromUrl(db.url);
      const before = await fingerprint(target);

      const prepared = await prepareBackup(target, { ...settings, format, jobs: format === 'directory' ? 2 : 1 });
      const ledger = await openPostgresLedger(target, { schema: 'leapfrog', migrate: false });
      const record = await (async () => {
        await using l = ledger!;
        return await takeRecordedBackup(prepared, l, null);
      })();
      expect(record.release).toBe('2023.1');
      expect(record.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(record.bytes).toBeGreaterThan(1000);
      expect(await readSidecar(record.path)).toEqual(record);
      const rows = await db.query<{ release: string; sha256: string; path: string }>(
        'SELECT release, sha256, path FROM leapfrog.backups',
      );
      expect(rows).toEqual([{ release: '2023.1', sha256: record.sha256, path: record.path }]);
      // The sidecar must never carry a secret.
      expect(await readFile(`${record.path}.leapfrog.json`, 'utf8')).not.toContain(new URL(db.url).password);

      // Break the database the way a failed upgrade does: new table, altered rows, dropped column.
      await db.query(`CREATE TABLE added_by_upgrade (x int)`);
      await db.query(`UPDATE instances SET name = upper(name) WHERE id % 3 = 0`);
      await db.query(`ALTER TABLE instances DROP COLUMN flavor`);
      await db.query(`UPDATE leapfrog.state SET release = '2024.1', version = '2024.1.0'`);
      expect(await fingerprint(target)).not.toEqual(before);

      const located = await locateBackup(record.path, dir);
      await verifyBackup(located, undefined);
      await expect(
        restoreBackup({ backup: located, target, tools: settings.tools, yes: false, create: false, jobs: 2 }),
      ).rejects.toBeInstanceOf(RefusedError);
      const outcome = await restoreBackup({
        backup: located,
        target,
        tools: settings.tools,
        yes: true,
        create: false,
        jobs: 2,
      });
      expect(outcome.action).toBe('replaced');
      const after = await fingerprint(target);
      expect(after).toEqual(before);
      expect(Object.keys(after.tables)).toContain('leapfrog.state');
      expect(await restoredRelease(target, 'leapfrog')).toEqual({ release: '2023.1', version: '2023.1.0' });
    });
  }

  it('restores into a new database with --create, found by backup id', async () => {
    await using db = await createTestDatabase('bk');
    await seed(db);
    const target = databaseTargetFromUrl(db.url);
    const prepared = await prepareBackup(target, settings);
    const record = await takeRecordedBackup(prepared, null, null);
    expect(record.release).toBeNull();
    const name = `${db.name}_copy`;
    const copy = databaseTargetFromUrl(urlForDatabase(name));
    try {
      const located = await locateBackup(record.id, dir);
      await expect(
        restoreBackup({ backup: located, target: copy, tools: settings.tools, yes: false, create: false, jobs: 1 }),
      ).rejects.toBeInstanceOf(BadInputError);
      const outcome = await restoreBackup({
        backup: located,
        target: copy,
        tools: settings.tools,
        yes: false,
        create: true,
        jobs: 1,
      });
      expect(outcome.action).toBe('created');
      expect(await fingerprint(copy)).toEqual(await fingerprint(target));
    } finally {
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
  });

  it('refuses a corrupted backup before touching the database', async () => {
    await using db = await createTestDatabase('bk');
    await seed(db);
    const target = databaseTargetFromUrl(db.url);
    const record = await takeRecordedBackup(await prepareBackup(target, settings), null, null);
    const corrupt = join(dir, 'corrupt.dump');
    const bytes = await readFile(record.path);
    const middle = Math.floor(bytes.length / 2);
    bytes[middle] = (bytes[middle] ?? 0) ^ 0xff;
    await writeFile(corrupt, bytes);
    await writeFile(
      `${corrupt}.leapfrog.json`,
      (await readFile(`${record.path}.leapfrog.json`, 'utf8')).replace(/"file": "[^"]+"/, '"file": "corrupt.dump"'),
    );
    const located = await locateBackup(corrupt, dir);
    await expect(verifyBackup(located, undefined)).rejects.toThrow(/corrupted.*nothing was restored/);
    // A dump with bytes appended is refused too, and a dump without sidecar needs --sha256.
    await appendFile(record.path, 'x');
    await expect(verifyBackup(await locateBackup(record.path, dir), undefined)).rejects.toBeInstanceOf(BadInputError);
    const bare = join(dir, 'bare.dump');
    await writeFile(bare, bytes);
    await expect(verifyBackup(await locateBackup(bare, dir), undefined)).rejects.toThrow(/no sidecar/);
  });

  it('leaves the database as it was when it is in use, or when pg_restore fails', async () => {
    await using db = await createTestDatabase('bk');
    await seed(db);
    const target = databaseTargetFromUrl(db.url);
    const record = await takeRecordedBackup(await prepareBackup(target, settings), null, null);
    await db.query(`UPDATE instances SET name = 'changed' WHERE id = 1`);
    const current = await fingerprint(target);
    const located = await locateBackup(record.path, dir);

    const session = new pg.Client({ connectionString: db.url, application_name: 'the-app' });
    await session.connect();
    try {
      await expect(
        restoreBackup({ backup: located, target, tools: settings.tools, yes: true, create: false, jobs: 1 }),
      ).rejects.toThrow(/1 other client session\(s\) \(pid \d+, client backend, application "the-app"\)/);
    } finally {
      await session.end();
    }
    expect(await fingerprint(target)).toEqual(current);

    // `false` stands in for a pg_restore that fails half-way (a missing role, a full disk): the
    // restore went into a staging database, so the original is untouched and the staging is gone.
    const failing = { ...settings.tools, pgRestore: 'false' };
    await expect(
      restoreBackup({ backup: located, target, tools: failing, yes: true, create: false, jobs: 1 }),
    ).rejects.toThrow(/pg_restore .* failed/);
    expect(await fingerprint(target)).toEqual(current);
    const leftovers = await db.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [
      `${db.name}_lf_%`,
    ]);
    expect(leftovers).toEqual([]);
  });

  it('records the database identity with every backup, and refuses to restore a dump of another database over this one', async () => {
    await using shop = await createTestDatabase('bk_shop');
    await using other = await createTestDatabase('bk_other');
    await seed(shop);
    await seed(other);
    const shopTarget = databaseTargetFromUrl(shop.url);
    const otherTarget = databaseTargetFromUrl(other.url);
    const [shopId] = await shop.query<{ id: string }>('SELECT database_id::text AS id FROM leapfrog.identity');
    const [otherId] = await other.query<{ id: string }>('SELECT database_id::text AS id FROM leapfrog.identity');
    const [sys] = await shop.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()');

    const otherRecord = await (async () => {
      await using l = (await openPostgresLedger(otherTarget, { schema: 'leapfrog', migrate: false }))!;
      return await takeRecordedBackup(await prepareBackup(otherTarget, settings), l, null);
    })();
    expect(otherRecord).toMatchObject({ databaseId: otherId?.id, systemIdentifier: sys?.id, databaseName: other.name });
    expect(await readSidecar(otherRecord.path)).toMatchObject({ databaseId: otherId?.id, databaseName: other.name });
    expect(await other.query('SELECT database_id::text AS database_id, database_name FROM leapfrog.backups')).toEqual([
      { database_id: otherId?.id, database_name: other.name },
    ]);

    const before = await fingerprint(shopTarget);
    const located = await locateBackup(otherRecord.path, dir);
    const refused = await restoreBackup({
      backup: located,
      target: shopTarget,
      tools: settings.tools,
      yes: true,
      create: false,
      jobs: 1,
    }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RefusedError);
    expect((refused as RefusedError).message).toContain(`is of the database ${other.name} (id ${otherId?.id}`);
    expect((refused as RefusedError).message).toContain(`is ${shop.name} (id ${shopId?.id}`);
    expect(await fingerprint(shopTarget)).toEqual(before);
    // A backup taken before the database had a ledger identity is matched on server and name.
    const bare = await takeRecordedBackup(await prepareBackup(shopTarget, settings), null, null, {
      ledgerSchema: 'no_such_schema',
    });
    expect(bare).toMatchObject({ databaseId: null, systemIdentifier: sys?.id, databaseName: shop.name });
    await expect(
      restoreBackup({
        backup: await locateBackup(bare.path, dir),
        target: shopTarget,
        tools: settings.tools,
        yes: true,
        create: false,
        jobs: 1,
      }),
    ).resolves.toMatchObject({ action: 'replaced' });
    // On purpose, it is allowed; the restored ledger then carries the dump's identity.
    const outcome = await restoreBackup({
      backup: located,
      target: shopTarget,
      tools: settings.tools,
      yes: true,
      create: false,
      jobs: 1,
      otherDatabase: true,
    });
    expect(outcome.action).toBe('replaced');
    expect(await shop.query('SELECT database_id::text AS id FROM leapfrog.identity')).toEqual([{ id: otherId?.id }]);
  });

  it('ledger migration 2 gives an existing ledger its identity and its backup rows with it; an unmigrated ledger still lists its own', async () => {
    await using db = await createTestDatabase('bk_migrate');
    const target = databaseTargetFromUrl(db.url);
    const first = ledgerMigrations[0]!;
    await db.query(
      `CREATE SCHEMA leapfrog; CREATE TABLE leapfrog.ledger_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    await db.query(first.sql('leapfrog'));
    await db.query(`INSERT INTO leapfrog.ledger_migrations (id, name) VALUES (1, $1)`, [first.name]);
    await db.query(`INSERT INTO leapfrog.state (release, version) VALUES ('2023.1', '2023.1.0')`);
    await db.query(
      `INSERT INTO leapfrog.backups (id, release, version, path, format, bytes, sha256, duration_ms)
                    VALUES ('00000000-0000-0000-0000-000000000001', '2023.1', '2023.1.0', '/elsewhere/old.dump', 'custom', 1, $1, 1)`,
      ['a'.repeat(64)],
    );
    // Read-only verbs do not migrate: the old ledger's row is still this database's backup.
    const before = await knownBackupsOf(target, 'leapfrog', dir);
    expect(before.backups.map((b) => [b.path, b.databaseId])).toEqual([['/elsewhere/old.dump', null]]);
    await (await openPostgresLedger(target, { schema: 'leapfrog', migrate: true }))![Symbol.asyncDispose]();
    const [identity] = await db.query<{ id: string }>('SELECT database_id::text AS id FROM leapfrog.identity');
    expect(identity?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(await db.query('SELECT database_id::text AS id FROM leapfrog.backups')).toEqual([{ id: identity?.id }]);
    const after = await knownBackupsOf(target, 'leapfrog', dir);
    expect(after.identity?.databaseId).toBe(identity?.id);
    expect(after.backups.map((b) => b.path)).toEqual(['/elsewhere/old.dump']);
  });

  it('reports the backup as events: started with its path, progress while pg_dump runs, finished', async () => {
    await using db = await createTestDatabase('bk_events');
    await seed(db);
    const target = databaseTargetFromUrl(db.url);
    // The real pg_dump, slowed down after it wrote the file so that the size is polled at least once.
    const slow = join(dir, 'slow-pg-dump.sh');
    await writeFile(slow, `#!/bin/sh\n"${settings.tools.pgDump}" "$@" || exit $?\nsleep 1.2\n`, { mode: 0o755 });
    const events: BackupEvent[] = [];
    const record = await takeBackup(
      await prepareBackup(target, { ...settings, tools: { ...settings.tools, pgDump: slow } }),
      { release: '2023.1', version: '2023.1.0', runId: null },
      new Date(),
      (e) => events.push(e),
    );
    expect(events[0]).toEqual({
      type: 'backup-started',
      path: record.path,
      database: target.display,
      release: '2023.1',
    });
    const progress = events.filter((e) => e.type === 'backup-progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toMatchObject({ path: record.path, bytes: record.bytes });
    expect(events.at(-1)).toEqual({
      type: 'backup-finished',
      path: record.path,
      bytes: record.bytes,
      sha256: record.sha256,
      durationMs: record.durationMs,
    });
    await rm(slow);
  });

  it('is not blocked by an autovacuum worker, only by client sessions', async () => {
    await using db = await createTestDatabase('bk_autovac');
    await seed(db);
    const target = databaseTargetFromUrl(db.url);
    const record = await takeRecordedBackup(await prepareBackup(target, settings), null, null);
    const before = await fingerprint(target);
    // A table autovacuum wants to vacuum, throttled so that its worker stays for minutes: what a
    // large update leaves behind, right when an operator restores after a failed upgrade.
    await db.query(`CREATE TABLE churn (id int, pad text) WITH (autovacuum_vacuum_threshold = 0, autovacuum_vacuum_scale_factor = 0,
                      autovacuum_vacuum_cost_delay = 100, autovacuum_vacuum_cost_limit = 1)`);
    await db.query(`INSERT INTO churn SELECT g, repeat('x', 200) FROM generate_series(1, 100000) g`);
    await db.query(`DELETE FROM churn`);
    await adminQuery('ALTER SYSTEM SET autovacuum_naptime = 1');
    await adminQuery('SELECT pg_reload_conf()');
    try {
      const deadline = Date.now() + 60_000;
      let workers: { backend_type: string }[] = [];
      while (Date.now() < deadline) {
        workers = await db.query<{ backend_type: string }>(
          `SELECT backend_type FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'autovacuum worker'`,
          [db.name],
        );
        if (workers.length > 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(workers, 'an autovacuum worker on the database').toHaveLength(1);
      const outcome = await restoreBackup({
        backup: await locateBackup(record.path, dir),
        target,
        tools: settings.tools,
        yes: true,
        create: false,
        jobs: 1,
      });
      expect(outcome.action).toBe('replaced');
      expect(await fingerprint(target)).toEqual(before);
    } finally {
      await adminQuery('ALTER SYSTEM RESET autovacuum_naptime');
      await adminQuery('SELECT pg_reload_conf()');
    }
  });
});

describe('a backup folder that fills up', () => {
  const mountPoint = join(tmpdir(), `lf-full-${process.pid}`);
  let mounted = false;

  /** A real, tiny file system (tmpfs) as the backup folder; needs root, as CI and this container have. */
  async function mountTiny(bytes: number): Promise<boolean> {
    await mkdir(mountPoint, { recursive: true });
    const result = await execa('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', mountPoint], { reject: false });
    mounted = result.exitCode === 0;
    return mounted;
  }

  afterEach(async () => {
    if (mounted) await execa('umount', [mountPoint]);
    mounted = false;
    await rm(mountPoint, { recursive: true, force: true });
  });

  /** Rows that compress badly, so the dump is larger than the tiny folder. */
  async function bulky(db: TestDatabase): Promise<void> {
    await seed(db);
    await db.query(
      `CREATE TABLE bulky AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) AS pad FROM generate_series(1, 20000) g`,
    );
  }

  it('pg_dump hitting ENOSPC: names the folder and the space, removes the partial dump', async (context) => {
    if (!(await mountTiny(64 * 1024))) context.skip('mounting a tmpfs needs root (CAP_SYS_ADMIN); this run has not');
    await using db = await createTestDatabase('bk_full');
    await bulky(db);
    const target = databaseTargetFromUrl(db.url);
    const tools = await resolvePgTools(undefined, {});
    const error = await takeRecordedBackup(
      await prepareBackup(target, { dir: mountPoint, format: 'custom', jobs: 1, tools }),
      null,
      null,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PhaseFailedError);
    const message = (error as PhaseFailedError).message;
    expect(message).toContain(`the backup folder ${mountPoint} is full`);
    expect(message).toMatch(/needed more than the \d+(\.\d)? KiB it had written/);
    expect(message).toMatch(/the database is [\d.]+ MiB on disk/);
    expect((error as PhaseFailedError).hint).toContain('--backup-dir');
    expect(await readdir(mountPoint)).toEqual([]);
  });

  it('a disk that fills while the sidecar is written leaves neither an empty sidecar nor a dump without one', async (context) => {
    await using db = await createTestDatabase('bk_full_sidecar');
    await bulky(db);
    const target = databaseTargetFromUrl(db.url);
    // The dump's size, measured with a first backup elsewhere (same data, same size).
    const tools = await resolvePgTools(undefined, {});
    const settings: BackupSettings = {
      dir: await mkdtemp(join(tmpdir(), 'lf-probe-')),
      format: 'custom',
      jobs: 1,
      tools,
    };
    const probe = await takeRecordedBackup(await prepareBackup(target, settings), null, null);
    await rm(settings.dir, { recursive: true, force: true });
    const page = 4096;
    const dumpPages = Math.ceil(probe.bytes / page);
    if (!(await mountTiny((dumpPages + 8) * page)))
      context.skip('mounting a tmpfs needs root (CAP_SYS_ADMIN); this run has not');
    // Leave exactly the dump's pages free: pg_dump succeeds, the sidecar finds the disk full.
    const filler = join(mountPoint, 'filler');
    await writeFile(filler, Buffer.alloc(8 * page));
    const free = await statfs(mountPoint);
    expect(free.bavail * free.bsize).toBe(dumpPages * page);
    const error = await takeRecordedBackup(
      await prepareBackup(target, { ...settings, dir: mountPoint }),
      null,
      null,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PhaseFailedError);
    expect((error as Error).message).toContain(`the backup folder ${mountPoint} is full`);
    expect(await readdir(mountPoint)).toEqual(['filler']);
  });
});
