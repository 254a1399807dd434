import type pg from 'pg';
import { BadInputError } from '../errors/index.js';
import type { DatabaseTarget } from './database-target.js';
import { redact } from './redact.js';

/**
 * Opens one pg client. A failure names the database by its display form only: pg's own
 * messages can quote the connection string, so they are redacted before they travel further.
 */
export async function connectClient(target: DatabaseTarget, applicationName: string): Promise<pg.Client> {
  const { default: pgModule } = await import('pg');
  const client = new pgModule.Client({ connectionString: target.url, application_name: applicationName });
  // An idle client whose server goes away emits 'error'; without a listener Node would crash.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (cause) {
    const message = redact(cause instanceof Error ? cause.message : String(cause), target.secrets);
    throw new BadInputError(`cannot connect to the database ${target.display}: ${message}`, {
      hint: 'check --database-url (or DATABASE_URL / PG* variables) and that the server is running',
    });
  }
  return client;
}
