import type pg from 'pg';
import { connectClient } from './connect.js';
import type { DatabaseTarget } from './database-target.js';

/** One short-lived connection: opened, used, always closed, never hiding the first error. */
export async function withClient<T>(target: DatabaseTarget, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectClient(target, 'leapfrog');
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
