import { beforeAll, describe, expect, it } from 'vitest';
import { seedDemoDatabase } from '../../src/demo/seed.js';
import { createTestDatabase } from '../helpers/database.js';
import { assertKitBuilt, kit, kitDataUntilDone } from './kit-run.js';

beforeAll(() => assertKitBuilt());

// Why leapfrog never skips a milestone: 2024.2 contracts the columns that 2023.2's and 2024.1's
// data migrations read, so its blocker migration refuses to run until they have finished.
describe('skipping a release is unsafe', () => {
  it("2024.2's schema phase on a 2023.1 database stops at the blocker, naming the unfinished data migration", async () => {
    await using db = await createTestDatabase('blocker');
    await seedDemoDatabase(db.url, { rows: 400 });
    const run = await kit('2024.2', ['schema'], db.url);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('blocked by 2024.2/0001_block_unfinished_backfills.blocker.yaml');
    expect(run.stderr).toContain(
      'data migration backfill_customer_addresses (introduced in 2023.2) has not finished: 100 rows of customers still to migrate',
    );
    expect(run.stderr).toContain('finish it with release 2024.1 first');
    // Nothing was contracted: the old columns and every row are still there.
    const columns = await db.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'total'",
    );
    expect(columns).toHaveLength(1);
    const blockerApplied = await db.query("SELECT 1 FROM leapfrog_kit.schema_migrations WHERE release = '2024.2'");
    expect(blockerApplied).toHaveLength(0);
  });

  it('names the data migration that is still unfinished when only some are done', async () => {
    await using db = await createTestDatabase('blocker');
    await seedDemoDatabase(db.url, { rows: 400 });
    expect((await kit('2024.1', ['schema'], db.url)).exitCode).toBe(0);
    // Finish 2023.2's backfills but leave 2024.1's orders backfill half done.
    await kit('2024.1', ['data', '--max-count', '300'], db.url);
    const run = await kit('2024.2', ['schema'], db.url);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(
      'data migration backfill_order_total_cents (introduced in 2024.1) has not finished: 300 rows of orders',
    );
  });

  it('stepping through 2024.1 (schema, data until done, check) lets 2024.2 contract, with the data intact', async () => {
    await using db = await createTestDatabase('blocker');
    await seedDemoDatabase(db.url, { rows: 400 });
    const before = await db.query<{ sum: string }>('SELECT sum((total * 100)::bigint)::text AS sum FROM orders');
    expect((await kit('2024.1', ['schema'], db.url)).exitCode).toBe(0);
    expect((await kitDataUntilDone('2024.1', db.url)).at(-1)?.exitCode).toBe(0);
    expect((await kit('2024.1', ['check', '--json'], db.url)).exitCode).toBe(0);
    const contract = await kit('2024.2', ['schema'], db.url);
    expect(contract.exitCode, contract.stderr).toBe(0);
    expect((await kit('2024.2', ['data'], db.url)).exitCode).toBe(0);
    expect((await kit('2024.2', ['check', '--json'], db.url)).exitCode).toBe(0);
    const after = await db.query<{ sum: string }>('SELECT sum(total_cents)::text AS sum FROM orders');
    expect(after[0]?.sum).toBe(before[0]?.sum);
    const addresses = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM addresses WHERE kind = 'billing'");
    expect(addresses).toEqual([{ n: 100 }]);
  });
});
