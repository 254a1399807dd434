// Shared by the runner's e2e tests: the built CLI on the runner fixture catalog, one fresh
// database per test with a small `items` table the fixture releases backfill.
import { join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { TestDatabase } from '../helpers/database.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI = join(ROOT, 'dist/cli/main.js');
export const CATALOG = join(ROOT, 'test/fixtures/catalogs/runner-basic');

/** `url` null: a verb that takes no database (plan). */
export function leapfrog(
  args: string[],
  url: string | null,
  env: Record<string, string> = {},
): ResultPromise<{ reject: false; cwd: string; env: Record<string, string> }> {
  // The pre-upgrade backup has its own tests (issue 6); here it would only add pg_dump time.
  const runs = args.includes('apply') || args.includes('step');
  return execa(
    'node',
    [
      CLI,
      ...args,
      '--catalog',
      CATALOG,
      ...(url === null ? [] : ['--database-url', url]),
      ...(runs ? ['--no-backup'] : []),
    ],
    {
      cwd: ROOT,
      reject: false,
      env: { NO_COLOR: '1', CI: '1', ...env },
    },
  );
}

export async function seedItems(db: TestDatabase, rows = 1000): Promise<void> {
  await db.query('CREATE TABLE items (id integer PRIMARY KEY, v integer NOT NULL)');
  await db.query('INSERT INTO items SELECT g, g FROM generate_series(1, $1::int) g', [rows]);
}

/** Polls until `fn` is true (a state another process reaches), or fails after `ms`. */
export async function waitFor(fn: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`condition not reached within ${ms} ms`);
}

export async function phaseRows(
  db: TestDatabase,
): Promise<{ release: string; phase: string; name: string; status: string; attempts: number }[]> {
  return db.query('SELECT release, phase, name, status, attempts FROM leapfrog.phases ORDER BY id');
}

export async function currentRelease(db: TestDatabase): Promise<string | undefined> {
  const rows = await db.query<{ release: string }>('SELECT release FROM leapfrog.state');
  return rows[0]?.release;
}

/** True while the ledger records the release's data phase as running (a command is mid-way). */
export async function dataRunning(db: TestDatabase, release: string): Promise<boolean> {
  const rows = await db.query(
    "SELECT 1 FROM leapfrog.phases WHERE release = $1 AND phase = 'data' AND status = 'running'",
    [release],
  );
  return rows.length > 0;
}

/** A digest of every row of the fixture's items table, ids included. */
export async function itemsDigest(db: TestDatabase): Promise<string> {
  const rows = await db.query<{ d: string }>(
    "SELECT md5(string_agg(row_to_json(i)::text, ',' ORDER BY id)) AS d FROM items i",
  );
  return rows[0]?.d ?? '';
}
