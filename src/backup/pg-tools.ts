import { runTool } from '../util/run-tool.js';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { BadInputError } from '../errors/index.js';
import type { DatabaseTarget } from '../pg/database-target.js';
import { withClient } from '../pg/with-client.js';
import { logger } from '../util/logger.js';
import { PgDumpTooOldError } from './backup-errors.js';

/**
 * The PostgreSQL client tools leapfrog runs: where pg_dump and pg_restore are, which versions
 * they and the server are, whether this pg_dump can dump this server, and how they reach the
 * database without a password on their command line.
 */

const log = logger('backup');

/** The PostgreSQL client binaries leapfrog runs for backups and restores. */
export interface PgTools {
  readonly pgDump: string;
  readonly pgRestore: string;
  /** Where they were found, for messages: `--pg-bin /x`, `PG_BIN=/x` or `PATH`. */
  readonly source: string;
}

export interface PgToolVersion {
  /** As the binary printed it, e.g. "15.18". */
  readonly text: string;
  /** The major version as a comparable number: 15, 16; 9.6 for the two-part majors before 10. */
  readonly major: number;
  readonly minor: number;
}

/**
 * `--pg-bin DIR` wins over `PG_BIN`, which wins over PATH: an operator whose distribution ships
 * an older client points leapfrog at e.g. /usr/lib/postgresql/16/bin without touching PATH.
 */
export async function resolvePgTools(
  pgBin: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PgTools> {
  const dir = pgBin ?? env['PG_BIN'];
  if (dir === undefined || dir === '') return { pgDump: 'pg_dump', pgRestore: 'pg_restore', source: 'PATH' };
  const source = pgBin !== undefined ? `--pg-bin ${dir}` : `PG_BIN=${dir}`;
  const tools = { pgDump: join(dir, 'pg_dump'), pgRestore: join(dir, 'pg_restore'), source };
  for (const bin of [tools.pgDump, tools.pgRestore]) {
    try {
      await access(bin, constants.X_OK);
    } catch (cause) {
      throw new BadInputError(`${bin} (from ${source}) is not an executable file`, {
        cause,
        hint: `point --pg-bin (or PG_BIN) at the folder that holds pg_dump and pg_restore, e.g. /usr/lib/postgresql/15/bin`,
      });
    }
  }
  return tools;
}

/** Runs `<bin> --version`; a missing binary is bad input with the way to install one. */
export async function pgToolVersion(bin: string, source: string): Promise<PgToolVersion> {
  log.debug(`running ${bin} --version`);
  const result = await runTool(bin, ['--version'], { timeoutMs: 15_000 });
  const stdout = result.stdout;
  if (result.exitCode !== 0) {
    const cause = result.error ?? new Error(`exit ${result.exitCode ?? 'killed'}: ${result.stderr.trim()}`);
    throw new BadInputError(`cannot run ${bin} --version (found via ${source})`, {
      cause,
      hint: 'install the PostgreSQL client (e.g. apt-get install postgresql-client-15), or pass --pg-bin DIR / set PG_BIN to its bin folder',
    });
  }
  const version = parsePgVersion(stdout);
  if (version === undefined) {
    throw new BadInputError(`${bin} --version printed "${stdout.trim()}", which names no PostgreSQL version`, {
      hint: 'pass --pg-bin DIR (or set PG_BIN) to a folder with the real pg_dump and pg_restore',
    });
  }
  return version;
}

/** "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" -> 15.18; "9.6.24" -> 9.6. */
export function parsePgVersion(text: string): PgToolVersion | undefined {
  const match =
    /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(text) ?? /\b(\d+)(?:\.(\d+))?(?:\.(\d+))?\b/.exec(text);
  if (!match) return undefined;
  const major = Number(match[1]);
  // Before 10 the major version had two parts (9.6); the third was the minor.
  if (major < 10 && match[2] !== undefined) {
    const text9 = `${major}.${match[2]}${match[3] !== undefined ? `.${match[3]}` : ''}`;
    return { text: text9, major: Number(`${major}.${match[2]}`), minor: Number(match[3] ?? 0) };
  }
  return { text: `${major}${match[2] !== undefined ? `.${match[2]}` : ''}`, major, minor: Number(match[2] ?? 0) };
}

/** `server_version_num` (150018) -> { major: 15, minor: 18 }; 90624 -> { major: 9.6, minor: 24 }. */
export function serverVersionFromNum(num: number, text: string): PgToolVersion {
  if (num >= 100000) return { text, major: Math.floor(num / 10000), minor: num % 10000 };
  return { text, major: Math.floor(num / 10000) + (Math.floor(num / 100) % 100) / 10, minor: num % 100 };
}

/** The server's version, as `server_version_num` and `server_version` say. */
export function serverVersionOf(target: DatabaseTarget): Promise<PgToolVersion> {
  return withClient(target, async (client) => {
    const { rows } = await client.query<{ num: string; text: string }>(
      "SELECT current_setting('server_version_num') AS num, current_setting('server_version') AS text",
    );
    const row = rows[0];
    return serverVersionFromNum(Number(row?.num ?? 0), (row?.text ?? '').split(' ')[0] ?? '');
  });
}

/**
 * pg_dump refuses (or worse, half-works) against a server of a newer major version, and the
 * operator learns it only after the upgrade has started. Checked before anything runs.
 * Minor versions do not matter: the dump format is decided by the major version.
 */
export function assertPgDumpCanDump(pgDump: PgToolVersion, server: PgToolVersion, tools: PgTools): void {
  if (pgDump.major >= server.major) return;
  throw new PgDumpTooOldError(
    `pg_dump ${pgDump.text} (${tools.pgDump}, via ${tools.source}) is older than the server, PostgreSQL ${server.text}: it cannot take the backup, so nothing was run`,
    `install the PostgreSQL ${server.major} client (e.g. apt-get install postgresql-client-${server.major}) and pass --pg-bin /usr/lib/postgresql/${server.major}/bin (or set PG_BIN); or pass --no-backup if you have taken a backup yourself`,
    { pgDump: pgDump.text, server: server.text, pgDumpPath: tools.pgDump },
  );
}

/**
 * How pg_dump and pg_restore reach the database without the password on their command line
 * (where `ps` shows it to every user of the host): the URL minus its password as `--dbname`,
 * the password in the child's environment.
 */
export interface LibpqConnection {
  readonly dbnameArg: string;
  readonly env: Readonly<Record<string, string>>;
}

export function libpqConnection(target: DatabaseTarget): LibpqConnection {
  const url = new URL(target.url);
  const password = decodeURIComponent(url.password);
  url.password = '';
  const env: Record<string, string> = {};
  if (password !== '') env['PGPASSWORD'] = password;
  return { dbnameArg: url.toString(), env };
}
