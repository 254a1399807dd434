import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedDemoDatabase } from '../../src/demo/seed.js';
import { createTestDatabase } from '../helpers/database.js';
import { assertKitBuilt, kit, kitDataUntilDone } from './kit-run.js';

beforeAll(() => assertKitBuilt());

interface WriterLog {
  insertedOrders: number;
  insertedCustomers: number;
  /** Last total the application wrote, per order it updated. */
  totals: Map<string, string>;
  /** Last street the application wrote, per customer it updated. */
  streets: Map<string, string>;
  heldLocks: number;
}

/**
 * The 2023.1 application keeps running during 2024.1's data phase: it only knows the old
 * columns (customers.street…, orders.total), inserts and updates, and sometimes holds a row lock
 * for a while, which the kit's SKIP LOCKED batches must step around.
 */
async function runApplication(
  url: string,
  stop: AbortSignal,
  maxCustomerId: number,
  maxOrderId: number,
): Promise<WriterLog> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const log: WriterLog = {
    insertedOrders: 0,
    insertedCustomers: 0,
    totals: new Map(),
    streets: new Map(),
    heldLocks: 0,
  };
  try {
    for (let i = 0; !stop.aborted; i += 1) {
      const customer = await client.query<{ id: string }>(
        "INSERT INTO customers (name, email, street, city, postcode, country) VALUES ($1, $2, 'New Street 1', 'Leeds', '00001', 'GB') RETURNING id",
        [`Online ${i}`, `Online.${i}@Example.com`],
      );
      log.insertedCustomers += 1;
      await client.query("INSERT INTO orders (customer_id, total, status) VALUES ($1, $2, 'new')", [
        customer.rows[0]?.id,
        `${i % 500}.25`,
      ]);
      log.insertedOrders += 1;
      const orderId = String(1 + ((i * 7) % maxOrderId));
      const total = `${(i * 13) % 900}.${String(i % 100).padStart(2, '0')}`;
      if (i % 10 === 0) {
        // A slow application transaction holding row locks across several batches.
        await client.query('BEGIN');
        await client.query('SELECT 1 FROM orders WHERE id = $1 FOR UPDATE', [orderId]);
        await new Promise((r) => setTimeout(r, 40));
        await client.query('UPDATE orders SET total = $2 WHERE id = $1', [orderId, total]);
        await client.query('COMMIT');
        log.heldLocks += 1;
      } else {
        await client.query('UPDATE orders SET total = $2 WHERE id = $1', [orderId, total]);
      }
      log.totals.set(orderId, total);
      const customerId = String(1 + ((i * 11) % maxCustomerId));
      const street = `${i} Moved Street`;
      await client.query('UPDATE customers SET street = $2 WHERE id = $1', [customerId, street]);
      log.streets.set(customerId, street);
    }
  } finally {
    await client.end();
  }
  return log;
}

describe('online data migrations', () => {
  it('lose and duplicate nothing while the application writes, and still finish', async () => {
    await using db = await createTestDatabase('online');
    await seedDemoDatabase(db.url, { rows: 3000 }); // 750 customers
    expect((await kit('2024.1', ['schema'], db.url)).exitCode).toBe(0);

    const stop = new AbortController();
    const writer = runApplication(db.url, stop.signal, 750, 3000);
    let runs;
    try {
      // Small batches, so that the data phase spans many application writes.
      runs = await kitDataUntilDone('2024.1', db.url, ['--max-count', '400', '--transaction-rows', '50'], 100);
    } finally {
      stop.abort();
    }
    const log = await writer;
    expect(runs.at(-1)?.exitCode).toBe(0);
    expect(runs.length).toBeGreaterThan(5);
    expect(log.insertedOrders).toBeGreaterThan(0);
    expect(log.heldLocks).toBeGreaterThan(0);

    const [orders] = await db.query<{ n: number; ids: number; wrong: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids, count(*) FILTER (WHERE total_cents IS DISTINCT FROM (total * 100)::bigint)::int AS wrong FROM orders',
    );
    expect(orders).toEqual({ n: 3000 + log.insertedOrders, ids: 3000 + log.insertedOrders, wrong: 0 });

    const [customers] = await db.query<{ n: number; addresses: number; mismatched: number; no_email: number }>(
      `SELECT (SELECT count(*)::int FROM customers) AS n,
              (SELECT count(*)::int FROM addresses WHERE kind = 'billing') AS addresses,
              (SELECT count(*)::int FROM customers c JOIN addresses a ON a.customer_id = c.id AND a.kind = 'billing'
                WHERE (c.street, c.city, c.postcode, c.country) IS DISTINCT FROM (a.street, a.city, a.postcode, a.country)) AS mismatched,
              (SELECT count(*)::int FROM customers WHERE email_lower IS DISTINCT FROM lower(email)) AS no_email`,
    );
    expect(customers).toEqual({
      n: 750 + log.insertedCustomers,
      addresses: 750 + log.insertedCustomers,
      mismatched: 0,
      no_email: 0,
    });

    // The application's last writes won: the backfill never overwrote them with stale values.
    const totals = await db.query<{ id: string; total: string; total_cents: string }>(
      'SELECT id::text, total::text, total_cents::text FROM orders WHERE id = ANY($1::bigint[])',
      [[...log.totals.keys()]],
    );
    for (const row of totals) {
      expect(row.total).toBe(log.totals.get(row.id));
      expect(row.total_cents).toBe(String(Math.round(Number(row.total) * 100)));
    }
    const streets = await db.query<{ id: string; street: string }>(
      "SELECT a.customer_id::text AS id, a.street FROM addresses a WHERE a.kind = 'billing' AND a.customer_id = ANY($1::bigint[])",
      [[...log.streets.keys()]],
    );
    expect(streets).toHaveLength(log.streets.size);
    for (const row of streets) expect(row.street).toBe(log.streets.get(row.id));

    expect((await kit('2024.1', ['check', '--json'], db.url)).exitCode).toBe(0);
  });
});
