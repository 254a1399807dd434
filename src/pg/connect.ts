import type pg from 'pg';
import { BadInputError } from '../errors/index.js';
import type { DatabaseTarget } from './database-target.js';
import { redact } from './redact.js';

/**
 * Opens one pg client. A failure names the database by its display form only: pg's own
 * messages can quote the connection string, so they are redacted before they travel further.
 *
 * Every leapfrog session switches the server's idle timeouts off for itself. A run keeps its lock
 * session and its ledger session open, idle, for as long as a phase command runs (hours for a
 * data phase); a database or role with `idle_session_timeout` (common on managed services) would
 * end them mid-run and take the lock with them. Both settings are user-settable, so any role may
 * change them for its own session; they are set through pg_settings so that a server older than
 * PostgreSQL 14, which lacks idle_session_timeout, is not an error. TCP keepalive covers the
 * network between us and the server (NAT and proxies that drop idle connections).
 */
export async function connectClient(target: DatabaseTarget, applicationName: string): Promise<pg.Client> {
  const { default: pgModule } = await import('pg');
  const client = new pgModule.Client({ connectionString: target.url, application_name: applicationName, keepAlive: true });
  // An idle client whose server goes away emits 'error'; without a listener Node would crash.
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query(
      `SELECT set_config(name, '0', false) FROM pg_settings
        WHERE name IN ('idle_session_timeout', 'idle_in_transaction_session_timeout')`,
    );
  } catch (cause) {
    await client.end().catch(() => undefined);
    const message = redact(cause instanceof Error ? cause.message : String(cause), target.secrets);
    throw new BadInputError(`cannot connect to the database ${target.display}: ${message}`, {
      hint: 'check --database-url (or DATABASE_URL / PG* variables) and that the server is running',
    });
  }
  return client;
}

export { isConnectionLoss } from './connection-loss.js';
