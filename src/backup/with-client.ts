import pg from 'pg';
import { BadInputError } from '../errors/index.js';
import type { DatabaseTarget } from '../pg/database-target.js';
import { redact } from '../pg/redact.js';

/** One short-lived connection: opened, used, always closed, never hiding the first error. */
export async function withClient<T>(target: DatabaseTarget, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: target.url, application_name: 'leapfrog' });
  try {
    await client.connect();
  } catch (cause) {
    await client.end().catch(() => undefined);
    const reason = redact(cause instanceof Error ? cause.message : String(cause), target.secrets);
    throw new BadInputError(`cannot connect to ${target.display}: ${reason}`, {
      cause,
      hint: 'check --database-url (or DATABASE_URL / PG*) and that the server is up: psql "$DATABASE_URL" -c "select 1"',
    });
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
