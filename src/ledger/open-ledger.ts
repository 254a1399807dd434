import type { DatabaseTarget } from '../pg/database-target.js';
import { connectClient } from '../pg/connect.js';
import { ledgerSchemaName } from './ledger-schema-name.js';
import { ledgerExists, migrateLedger } from './migrations.js';
import { PostgresLedger } from './postgres-ledger.js';

export interface OpenLedgerOptions {
  schema: string;
  /** Create or upgrade the ledger schema; read-only verbs (status) pass false. */
  migrate: boolean;
  /**
   * `baseline --force`: a damaged ledger (a table dropped by hand) is rebuilt while migrating.
   * Without it a damaged ledger is refused (exit 2).
   */
  repair?: boolean;
}

/**
 * Opens the ledger of a database. Returns null when `migrate` is false and the database has no
 * ledger yet, so `status` can say "not baselined" without writing anything.
 */
export async function openPostgresLedger(target: DatabaseTarget, options: OpenLedgerOptions): Promise<PostgresLedger | null> {
  const schema = ledgerSchemaName(options.schema);
  const connect = () => connectClient(target, 'leapfrog ledger');
  const client = await connect();
  try {
    if (options.migrate) {
      await migrateLedger(client, schema, { repair: options.repair === true });
    } else if (!(await ledgerExists(client, schema))) {
      await client.end();
      return null;
    }
    return new PostgresLedger(client, schema, { connect, display: target.display });
  } catch (error) {
    // Closing must not replace the first error.
    await client.end().catch(() => undefined);
    throw error;
  }
}
