import { randomBytes } from 'node:crypto';
import { RefusedError } from '../errors/index.js';
import { databaseName, withDatabase, type DatabaseTarget } from '../pg/database-target.js';
import { identifierWithSuffix, quoteIdent } from '../pg/sql-text.js';
import { withClient } from '../pg/with-client.js';
import { clientSessionsOf, describeSession } from '../pg/client-sessions.js';
import { nextCommand } from '../util/next-command.js';

/** A throwaway database for a rehearsal; `drop` is idempotent and never touches the source. */
export interface ScratchDatabase {
  readonly target: DatabaseTarget;
  readonly name: string;
  drop(): Promise<void>;
}

/** `<source>_rehearsal_<hex>`, within PostgreSQL's 63-byte identifier limit. */
export function scratchName(source: string): string {
  return identifierWithSuffix(source.toLowerCase(), `_rehearsal_${randomBytes(4).toString('hex')}`);
}

function maintenanceOf(target: DatabaseTarget): DatabaseTarget {
  return withDatabase(target, databaseName(target) === 'postgres' ? 'template1' : 'postgres');
}

export function scratchHandle(target: DatabaseTarget): ScratchDatabase {
  const name = databaseName(target);
  let dropped = false;
  return {
    target,
    name,
    drop: async () => {
      if (dropped) return;
      dropped = true;
      await withClient(maintenanceOf(target), async (admin) => {
        await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      });
    },
  };
}

/**
 * `CREATE DATABASE scratch TEMPLATE source`: a file-level copy on the same server, much faster
 * than dump and restore (docs/benchmarks.md). It only reads the source, but PostgreSQL allows it
 * only while nobody else is connected to the source; a busy production database is refused
 * with the way out (a rehearsal from a backup), never disconnected.
 */
export async function cloneDatabase(source: DatabaseTarget, scratch: string): Promise<ScratchDatabase> {
  const sourceName = databaseName(source);
  await withClient(maintenanceOf(source), async (admin) => {
    // Only client sessions: PostgreSQL stops an autovacuum worker on the source itself. A session
    // whose client just disconnected stays in pg_stat_activity until its backend has exited, so
    // give sessions that are leaving a moment before calling the database busy.
    let clients = await clientSessionsOf(admin, sourceName);
    for (let waited = 0; clients.length > 0 && waited < 2_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      clients = await clientSessionsOf(admin, sourceName);
    }
    if (clients.length > 0) {
      throw new RefusedError(
        `cannot clone ${source.display}: ${clients.length} other client session(s) are connected (${clients.map(describeSession).join('; ')}), and PostgreSQL copies a database only while nobody uses it`,
        {
          hint: `rehearse from a backup instead: ${nextCommand('backup')}, then ${nextCommand('rehearse', '--plan', 'FILE', '--from-backup', 'backups/<file>.dump')}`,
        },
      );
    }
    try {
      await admin.query(`CREATE DATABASE ${quoteIdent(scratch)} TEMPLATE ${quoteIdent(sourceName)}`);
    } catch (cause) {
      // A session that connected between the check and the copy.
      if ((cause as { code?: string }).code === '55006') {
        throw new RefusedError(`cannot clone ${source.display}: a session connected to it while copying`, {
          cause,
          hint: `run again when it is idle, or rehearse from a backup: ${nextCommand('rehearse', '--plan', 'FILE', '--from-backup', 'FILE')}`,
        });
      }
      throw cause;
    }
  });
  return scratchHandle(withDatabase(source, scratch));
}
