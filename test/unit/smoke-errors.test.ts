import { describe, expect, it } from 'vitest';
import { BadInputError, ExitCode, RefusedError } from '../../src/errors/index.js';
import { ensureBackupDir } from '../../src/backup/backup-store.js';
import { redact } from '../../src/util/redact.js';
import { databaseTargetFromUrl, resolveDatabaseTarget } from '../../src/pg/database-target.js';
import { parseDuration } from '../../src/util/duration.js';

describe('errors', () => {
  it('carry their exit code and the way out', () => {
    const e = new RefusedError('downgrade', { hint: 'restore the backup' });
    expect(e.exitCode).toBe(ExitCode.refused);
    expect(e.hint).toBe('restore the backup');
    expect(e.name).toBe('RefusedError');
  });
});

describe('database target', () => {
  it('shows host, port and database but never the password', () => {
    const t = databaseTargetFromUrl('postgres://app:s3cr%40t@db.example:6543/orders');
    expect(t.display).toBe('db.example:6543/orders');
    expect(t.secrets).toContain('s3cr@t');
    expect(redact(`failed: ${t.url} (password s3cr@t)`, t.secrets)).toBe('failed: *** (password ***)');
  });

  it('builds a URL from PG* variables when no URL is given', () => {
    const t = resolveDatabaseTarget(undefined, {
      PGHOST: 'h',
      PGPORT: '5433',
      PGUSER: 'u',
      PGPASSWORD: 'pw-123',
      PGDATABASE: 'd',
    });
    expect(t.display).toBe('h:5433/d');
    expect(t.secrets).toContain('pw-123');
  });

  it('refuses a password with a stray % as bad input, without showing it', () => {
    expect(() => databaseTargetFromUrl('postgres://u:SEC%RETPW@host/x')).toThrow(/stray "%"/);
    try {
      databaseTargetFromUrl('postgres://u:SEC%RETPW@host/x');
    } catch (error) {
      expect((error as BadInputError).exitCode).toBe(ExitCode.badInput);
      expect(String((error as Error).message) + (error as BadInputError).hint).not.toContain('RETPW');
    }
  });

  it('is a usage error when nothing names a database', () => {
    expect(() => resolveDatabaseTarget(undefined, {})).toThrow(/no database given/);
  });
});

describe('durations', () => {
  it('parses the manifest and flag forms', () => {
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('6h')).toBe(21_600_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('10')).toBe(10_000);
    expect(parseDuration('ten')).toBeUndefined();
  });
});

describe('backup folder', () => {
  it('is bad input (exit 2) naming --backup-dir when it cannot be created', async () => {
    const error = await ensureBackupDir('/dev/null/backups').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as BadInputError).message).toContain('--backup-dir /dev/null/backups');
  });
});
