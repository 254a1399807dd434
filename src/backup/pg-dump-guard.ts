import { BadInputError } from '../errors/index.js';
import type { PgToolVersion, PgTools } from './pg-tools.js';

/**
 * pg_dump refuses (or worse, half-works) against a server of a newer major version, and the
 * operator learns it only after the upgrade has started. Checked before anything runs.
 * Minor versions do not matter: the dump format is decided by the major version.
 */
export function assertPgDumpCanDump(pgDump: PgToolVersion, server: PgToolVersion, tools: PgTools): void {
  if (pgDump.major >= server.major) return;
  throw new BadInputError(
    `pg_dump ${pgDump.text} (${tools.pgDump}, via ${tools.source}) is older than the server, PostgreSQL ${server.text}: it cannot take the backup, so nothing was run`,
    {
      hint: `install the PostgreSQL ${server.major} client (e.g. apt-get install postgresql-client-${server.major}) and pass --pg-bin /usr/lib/postgresql/${server.major}/bin (or set PG_BIN); or pass --no-backup if you have taken a backup yourself`,
      details: { pgDump: pgDump.text, server: server.text, pgDumpPath: tools.pgDump },
    },
  );
}
