import { writeFile, mkdtemp, readFile, rm, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/pg/with-client.js';
import { databaseTargetFromUrl, type DatabaseTarget } from '../../src/pg/database-target.js';
import { fingerprintDatabase, type DatabaseFingerprint } from '../../src/backup/database-fingerprint.js';
import { prepareBackup, type BackupSettings } from '../../src/backup/take-backup.js';
import { takeRecordedBackup } from '../../src/backup/recorded-backup.js';
import { resolvePgTools } from '../../src/backup/pg-tools.js';
import { locateBackup } from '../../src/backup/locate-backup.js';
import { verifyBackup } from '../../src/backup/verify-backup.js';
import { restoreBackup, restoredRelease } from '../../src/backup/restore-backup.js';
import { readSidecar } from '../../src/backup/backup-sidecar.js';
import { openPostgresLedger } from '../../src/ledger/open-ledger.js';
import { BadInputError, RefusedError } from '../../src/errors/index.js';
import { createTestDatabase, urlForDatabase, adminQuery, type TestDatabase } from '../helpers/database.js';

function fingerprint(target: DatabaseTarget): Promise<DatabaseFingerprint> {
  return withClient(target, fingerprintDatabase);
}

/** A small application database with a leapfrog ledger at 2023.1. */
async function seed(db: TestDatabase): Promise<void> {
  await db.query(`CREATE TABLE instances (id serial PRIMARY KEY, name text NOT NULL, flavor int, created timestamptz DEFAULT now())`);
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
      const rows = await db.query<{ release: string; sha256: string; path: string }>('SELECT release, sha256, path FROM leapfrog.backups');
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
      await expect(restoreBackup({ backup: located, target, tools: settings.tools, yes: false, create: false, jobs: 2 })).rejects.toBeInstanceOf(RefusedError);
      const outcome = await restoreBackup({ backup: located, target, tools: settings.tools, yes: true, create: false, jobs: 2 });
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
      await expect(restoreBackup({ backup: located, target: copy, tools: settings.tools, yes: false, create: false, jobs: 1 })).rejects.toBeInstanceOf(BadInputError);
      const outcome = await restoreBackup({ backup: located, target: copy, tools: settings.tools, yes: false, create: true, jobs: 1 });
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
    await writeFile(`${corrupt}.leapfrog.json`, (await readFile(`${record.path}.leapfrog.json`, 'utf8')).replace(/"file": "[^"]+"/, '"file": "corrupt.dump"'));
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
      await expect(restoreBackup({ backup: located, target, tools: settings.tools, yes: true, create: false, jobs: 1 })).rejects.toThrow(/1 other session\(s\) \(the-app\)/);
    } finally {
      await session.end();
    }
    expect(await fingerprint(target)).toEqual(current);

    // `false` stands in for a pg_restore that fails half-way (a missing role, a full disk): the
    // restore went into a staging database, so the original is untouched and the staging is gone.
    const failing = { ...settings.tools, pgRestore: 'false' };
    await expect(restoreBackup({ backup: located, target, tools: failing, yes: true, create: false, jobs: 1 })).rejects.toThrow(/pg_restore .* failed/);
    expect(await fingerprint(target)).toEqual(current);
    const leftovers = await db.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${db.name}_lf_%`]);
    expect(leftovers).toEqual([]);
  });
});
