// Issue 9, item 9 (and the kit's side of item 8): a data-migration batch cut off by a lost
// session, then resumed, must leave the database identical, ids included, to a run that never
// stopped; and the kit itself must say it lost its connection (exit 2), not crash.
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedDemoDatabase } from '../../src/demo/seed.js';
import { startEmbeddedServer } from '../../src/pg/embedded-server.js';
import { createTestDatabase } from '../helpers/database.js';
import { assertKitBuilt, kit, kitDataUntilDone } from './kit-run.js';

beforeAll(() => assertKitBuilt());

/** Every row of the demo's tables, ids included, in one digest. */
async function fullChecksum(url: string): Promise<string> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ d: string }>(`
      SELECT md5(
        (SELECT coalesce(string_agg(row_to_json(t)::text, ';' ORDER BY id), '') FROM customers t) || '#' ||
        (SELECT coalesce(string_agg(row_to_json(t)::text, ';' ORDER BY id), '') FROM orders t) || '#' ||
        (SELECT coalesce(string_agg(row_to_json(t)::text, ';' ORDER BY id), '') FROM addresses t)) AS d`);
    return rows[0]?.d ?? '';
  });
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Holds, uncommitted, an address row with id 5 (a shipping address of customer 500). The kit's
 * first address batch (customers 1–50) inserts its first rows and then waits on id 5, whether the
 * ids come from the sequence or from the customers: a batch provably in flight when its session
 * is cut off. (Customer 500 itself is key-share locked by the row's foreign key; the kit's SKIP
 * LOCKED batches step around it.) Returns the holding client: roll it back.
 */
async function holdAddressFive(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined); // a restart ends this session too
  await client.connect();
  await client.query('BEGIN');
  await client.query("INSERT INTO addresses (id, customer_id, kind) VALUES (5, 500, 'shipping')");
  return client;
}

async function waitForKitBlocked(url: string): Promise<number> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const pid = await withClient(url, async (c) => {
      const { rows } = await c.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'leapfrog-kit' AND datname = current_database() AND wait_event_type = 'Lock'",
      );
      return rows[0]?.pid ?? null;
    });
    if (pid !== null) return pid;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the kit never waited on the held address');
}

describe('the kit on a lost connection', () => {
  it('a batch cut off by pg_terminate_backend and resumed gives the same rows, ids included, as an uninterrupted run', async () => {
    await using straight = await createTestDatabase('kit_det_a');
    await using resumed = await createTestDatabase('kit_det_b');
    for (const db of [straight, resumed]) {
      await seedDemoDatabase(db.url, { rows: 2000 });
      expect((await kit('2024.1', ['schema'], db.url)).exitCode).toBe(0);
    }
    const uninterrupted = await kitDataUntilDone('2024.1', straight.url, ['--transaction-rows', '50']);
    expect(uninterrupted.at(-1)?.exitCode).toBe(0);

    const holder = await holdAddressFive(resumed.url);
    const cut = kit('2024.1', ['data', '--transaction-rows', '50'], resumed.url);
    try {
      const pid = await waitForKitBlocked(resumed.url);
      await withClient(resumed.url, (c) => c.query('SELECT pg_terminate_backend($1)', [pid]));
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    const stopped = await cut;
    expect(stopped.exitCode, stopped.stderr).toBe(2);
    expect(stopped.stderr).toContain('leapfrog-kit data: lost the connection to the database');
    expect(stopped.stderr).toContain('next: check that the database server is up');
    expect(stopped.stderr).not.toContain('Unhandled');

    const rest = await kitDataUntilDone('2024.1', resumed.url, ['--transaction-rows', '50']);
    expect(rest.at(-1)?.exitCode).toBe(0);
    expect(await fullChecksum(resumed.url)).toBe(await fullChecksum(straight.url));
  });

  it('a server restart mid data phase: the kit exits 2 with a message, and a re-run finishes', async () => {
    await using server = await startEmbeddedServer();
    await withClient(server.adminUrl, (c) => c.query('CREATE DATABASE kit_restart'));
    const url = server.urlFor('kit_restart');
    await seedDemoDatabase(url, { rows: 2000 });
    expect((await kit('2024.1', ['schema'], url)).exitCode).toBe(0);

    const holder = await holdAddressFive(url);
    const cut = kit('2024.1', ['data', '--transaction-rows', '50'], url);
    await waitForKitBlocked(url);
    await server.restart();
    await holder.end().catch(() => undefined);
    const stopped = await cut;
    expect(stopped.exitCode, stopped.stderr).toBe(2);
    expect(stopped.stderr).toContain('lost the connection to the database');
    expect(stopped.stderr).not.toContain('Unhandled');

    const rest = await kitDataUntilDone('2024.1', url, ['--transaction-rows', '50']);
    expect(rest.at(-1)?.exitCode).toBe(0);
    const { n } = await withClient(
      url,
      async (c) =>
        (await c.query<{ n: number }>("SELECT count(*)::int AS n FROM addresses WHERE kind = 'billing'")).rows[0] ?? {
          n: 0,
        },
    );
    expect(n).toBe(500);
  });
});
