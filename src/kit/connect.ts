import pg from 'pg';
import { KitUsageError } from './kit-error.js';

/**
 * The database comes only from the environment (DATABASE_URL, else libpq's PG* variables), so it
 * never shows in a process list; the URL is a secret and is never printed.
 */
export function databaseUrlFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const url = env['DATABASE_URL'];
  if (url !== undefined && url !== '') return url;
  if (env['PGHOST'] !== undefined || env['PGDATABASE'] !== undefined) return undefined;
  throw new KitUsageError('no database: DATABASE_URL is not set', 'run the kit through leapfrog, or set DATABASE_URL (or PGHOST/PGDATABASE) in its environment');
}

export async function connectKit(url: string | undefined): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'leapfrog-kit' });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}

/** The URL and its password: strings that must never reach output. */
export function secretsOf(url: string | undefined): string[] {
  if (url === undefined) return [];
  const secrets = [url];
  try {
    const password = new URL(url).password;
    if (password !== '') secrets.push(password, decodeURIComponent(password));
  } catch {
    // Not a URL: pg will refuse it; the raw string is still redacted.
  }
  return secrets;
}
