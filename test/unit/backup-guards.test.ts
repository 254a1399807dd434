import { describe, expect, it } from 'vitest';
import { parsePgVersion, serverVersionFromNum, assertPgDumpCanDump } from '../../src/backup/pg-tools.js';
import { downgradeRefusal, newestBackupAtOrBefore } from '../../src/backup/forward-only.js';
import { mergeKnownBackups, type KnownBackup } from '../../src/backup/backup-store.js';
import { backupId } from '../../src/backup/take-backup.js';
import { sameDatabase } from '../../src/backup/database-identity.js';
import { BadInputError, ExitCode, RefusedError } from '../../src/errors/index.js';
import { setCarriedFlags } from '../../src/util/next-command.js';

const tools = { pgDump: '/opt/pg13/pg_dump', pgRestore: '/opt/pg13/pg_restore', source: '--pg-bin /opt/pg13' };

describe('pg_dump version guard', () => {
  it('reads the versions pg_dump and the server report', () => {
    expect(parsePgVersion('pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)')).toEqual({
      text: '15.18',
      major: 15,
      minor: 18,
    });
    expect(parsePgVersion('pg_dump (PostgreSQL) 9.6.24')).toEqual({ text: '9.6.24', major: 9.6, minor: 24 });
    expect(parsePgVersion('no version here')).toBeUndefined();
    expect(serverVersionFromNum(160004, '16.4')).toEqual({ text: '16.4', major: 16, minor: 4 });
    expect(serverVersionFromNum(90624, '9.6.24').major).toBe(9.6);
  });

  it('refuses an older pg_dump naming both versions and the fix, accepts same or newer', () => {
    const old = parsePgVersion('pg_dump (PostgreSQL) 13.4')!;
    const server = serverVersionFromNum(150018, '15.18');
    let error: unknown;
    try {
      assertPgDumpCanDump(old, server, tools);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BadInputError);
    const e = error as BadInputError;
    expect(e.exitCode).toBe(ExitCode.badInput);
    expect(e.message).toContain('pg_dump 13.4');
    expect(e.message).toContain('PostgreSQL 15.18');
    expect(e.hint).toContain('--pg-bin /usr/lib/postgresql/15/bin');
    expect(() => assertPgDumpCanDump(parsePgVersion('pg_dump (PostgreSQL) 15.2')!, server, tools)).not.toThrow();
    expect(() => assertPgDumpCanDump(parsePgVersion('pg_dump (PostgreSQL) 17.0')!, server, tools)).not.toThrow();
  });
});

function backup(release: string, version: string, iso: string): KnownBackup {
  return {
    path: `/b/${release}-${iso}.dump`,
    release,
    version,
    format: 'custom',
    bytes: 10,
    sha256: 'a'.repeat(64),
    durationMs: 1,
    createdAt: new Date(iso),
    runId: null,
    databaseId: null,
    systemIdentifier: null,
    databaseName: null,
    inLedger: true,
    hasSidecar: false,
  };
}

describe('forward-only guard', () => {
  const backups = [
    backup('2023.1', '2023.1.0', '2026-01-01T00:00:00Z'),
    backup('2023.1', '2023.1.0', '2026-01-02T00:00:00Z'),
    backup('2023.2', '2023.2.0', '2026-01-03T00:00:00Z'),
    backup('2024.1', '2024.1.0', '2026-01-04T00:00:00Z'),
  ];
  const current = { release: '2024.2', version: '2024.2.0' };

  it('chooses the newest backup taken at the requested release or before', () => {
    expect(newestBackupAtOrBefore(backups, { release: '2023.1', version: '2023.1.0' })?.createdAt.toISOString()).toBe(
      '2026-01-02T00:00:00.000Z',
    );
    expect(newestBackupAtOrBefore(backups, { release: '2024.1', version: '2024.1.0' })?.release).toBe('2024.1');
    expect(newestBackupAtOrBefore(backups, { release: '2022.2', version: '2022.2.0' })).toBeUndefined();
  });

  it('refuses a downgrade with exit 5, naming the backup and the exact restore command', () => {
    const refusal = downgradeRefusal(current, { release: '2023.2', version: '2023.2.0' }, backups);
    expect(refusal).toBeInstanceOf(RefusedError);
    expect(refusal?.exitCode).toBe(ExitCode.refused);
    expect(refusal?.message).toContain('2024.2');
    expect(refusal?.message).toContain('/b/2023.2-2026-01-03T00:00:00Z.dump');
    // The database comes from where this run got it: the environment, or the operator's own
    // flags, which nextCommand carries (src/cli/carried-flags.ts); the URL itself is never printed.
    expect(refusal?.hint).toBe('leapfrog restore /b/2023.2-2026-01-03T00:00:00Z.dump --yes');
    setCarriedFlags([{ argv: ['--backup-dir', '/b'], verbs: new Set(['restore', 'apply']) }]);
    try {
      expect(downgradeRefusal(current, { release: '2023.2', version: '2023.2.0' }, backups)?.hint).toBe(
        'leapfrog restore /b/2023.2-2026-01-03T00:00:00Z.dump --yes --backup-dir /b',
      );
    } finally {
      setCarriedFlags([]);
    }
  });

  it('says how to continue when the newest fitting backup is older than the request', () => {
    const refusal = downgradeRefusal(current, { release: '2023.2', version: '2023.2.0' }, backups.slice(0, 2));
    expect(refusal?.hint).toContain('then `leapfrog apply --to 2023.2` (the backup is at 2023.1)');
  });

  it('still refuses, without a backup to name, and allows forward or same release', () => {
    expect(downgradeRefusal(current, { release: '2023.1', version: '2023.1.0' }, [])?.hint).toContain(
      'no backup of this database taken at 2023.1 or earlier',
    );
    expect(downgradeRefusal(current, current, backups)).toBeUndefined();
    expect(downgradeRefusal(current, { release: '2025.1', version: '2025.1.0' }, backups)).toBeUndefined();
  });

  it('merges ledger rows and sidecars by path', () => {
    const merged = mergeKnownBackups(
      [
        {
          id: 'x',
          release: '2023.1',
          version: '2023.1.0',
          path: '/b/a.dump',
          format: 'custom',
          bytes: 1,
          sha256: 'b'.repeat(64),
          durationMs: 1,
          createdAt: new Date('2026-01-01T00:00:00Z'),
          runId: null,
          databaseId: 'u1',
          systemIdentifier: null,
          databaseName: 'd',
        },
      ],
      [
        {
          id: 'a',
          release: '2023.1',
          version: '2023.1.0',
          path: '/b/a.dump',
          format: 'custom',
          bytes: 1,
          sha256: 'b'.repeat(64),
          durationMs: 1,
          createdAt: '2026-01-01T00:00:00Z',
          runId: null,
          database: 'h:1/d',
          databaseId: null,
          systemIdentifier: null,
          databaseName: null,
          serverVersion: '15.18',
          pgDumpVersion: '15.18',
        },
        {
          id: 'b',
          release: null,
          version: null,
          path: '/b/b.dump',
          format: 'custom',
          bytes: 1,
          sha256: 'c'.repeat(64),
          durationMs: 1,
          createdAt: '2026-02-01T00:00:00Z',
          runId: null,
          database: 'h:1/d',
          databaseId: null,
          systemIdentifier: null,
          databaseName: null,
          serverVersion: '15.18',
          pgDumpVersion: '15.18',
        },
      ],
    );
    expect(merged.map((b) => [b.path, b.inLedger, b.hasSidecar, b.databaseId])).toEqual([
      ['/b/b.dump', false, true, null],
      // An older sidecar without identity takes it from its ledger row.
      ['/b/a.dump', true, true, 'u1'],
    ]);
  });

  it('matches a backup to its database on the ledger id, else on server and name, never on nothing', () => {
    const shop = { databaseId: 'u-shop', systemIdentifier: '7', databaseName: 'shop' };
    expect(sameDatabase({ databaseId: 'u-shop', systemIdentifier: '8', databaseName: 'moved' }, shop)).toBe(true);
    expect(sameDatabase({ databaseId: 'u-other', systemIdentifier: '7', databaseName: 'shop' }, shop)).toBe(false);
    // Taken before the database had a ledger identity: the server and the name decide.
    expect(sameDatabase({ databaseId: null, systemIdentifier: '7', databaseName: 'shop' }, shop)).toBe(true);
    expect(sameDatabase({ databaseId: null, systemIdentifier: '7', databaseName: 'other' }, shop)).toBe(false);
    expect(sameDatabase({ databaseId: null, systemIdentifier: null, databaseName: 'shop' }, shop)).toBe(false);
  });

  it('names backups safely for any file system', () => {
    expect(backupId('my db', '2024.1', new Date('2026-03-04T05:06:07.089Z'))).toBe('my_db-2024.1-20260304T050607089Z');
  });
});
