import pg from 'pg';
import { isConnectionLoss } from '../pg/connection-loss.js';
import { KitError, KitUsageError } from './kit-error.js';

/**
 * The database comes only from the environment (DATABASE_URL, else libpq's PG* variables), so it
 * never shows in a process list; the URL is a secret and is never printed.
 */
export function databaseUrlFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const url = env['DATABASE_URL'];
  if (url !== undefined && url !== '') return url;
  if (env['PGHOST'] !== undefined || env['PGDATABASE'] !== undefined) return undefined;
  throw new KitUsageError(
    'no database: DATABASE_URL is not set',
    'run the kit through leapfrog, or set DATABASE_URL (or PGHOST/PGDATABASE) in its environment',
  );
}

/** The server ended the kit's session (a restart, pg_terminate_backend, a timeout) or never answered. */
export class KitConnectionLostError extends KitError {}

const RETRY_HINT =
  'check that the database server is up and reachable, then let leapfrog run the phase again (it resumes; every batch that did not commit is simply still pending)';

export async function connectKit(url: string | undefined): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: 'leapfrog-kit', keepAlive: true });
  // The server ending an idle session emits 'error' on the client; unheard, Node would crash with
  // "Unhandled 'error' event" instead of the protocol's exit code. The query in flight (or the
  // next one) fails on its own and says why; connectionLost() turns that into the kit's message.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new KitConnectionLostError(`cannot connect to the database: ${(error as Error).message}`, RETRY_HINT, {
      cause: error,
    });
  }
  return client;
}

/** A KitConnectionLostError when `error` is the connection going away; null otherwise. */
export function connectionLost(error: unknown): KitConnectionLostError | null {
  if (error instanceof KitConnectionLostError) return error;
  if (!isConnectionLoss(error)) return null;
  return new KitConnectionLostError(`lost the connection to the database: ${(error as Error).message}`, RETRY_HINT, {
    cause: error,
  });
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
