import type pg from 'pg';
import { logger } from '../util/logger.js';
import { connectClient } from './connect.js';
import type { DatabaseTarget } from './database-target.js';

const log = logger('pg');

/** One short-lived connection: opened, used, always closed, never hiding the first error. */
export async function withClient<T>(target: DatabaseTarget, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectClient(target, 'leapfrog');
  try {
    return await fn(client);
  } finally {
    log.debug(`closing the connection to ${target.display}`);
    await client.end().catch((error: unknown) => log.suppressed(`closing the connection to ${target.display}`, error));
  }
}
