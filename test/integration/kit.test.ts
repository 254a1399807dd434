import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedDemoDatabase } from '../../src/demo/seed.js';
import { createTestDatabase } from '../helpers/database.js';
import { assertKitBuilt, copyOfReleases, kit, kitDataUntilDone } from './kit-run.js';

beforeAll(() => assertKitBuilt());

describe('leapfrog-kit schema', () => {
  it("applies each release's pending migrations once, recording a checksum for each", async () => {
    await using db = await createTestDatabase('kit');
    const first = await kit('2023.1', ['schema'], db.url);
    expect(first.exitCode).toBe(0);
    const second = await kit('2024.1', ['schema'], db.url);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stderr).toContain('3 migrations applied, 1 were already');
    const again = await kit('2024.1', ['schema'], db.url);
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toContain('0 migrations applied, 4 were already');
    const rows = await db.query<{ id: string; checksum: string }>(
      'SELECT id, checksum FROM leapfrog_kit.schema_migrations ORDER BY id',
    );
    expect(rows.map((r) => r.id)).toEqual([
      '2023.1/0001_customers_and_orders.sql',
      '2023.2/0001_addresses_table.sql',
      '2023.2/0002_customer_email_lower.sql',
      '2024.1/0001_order_total_cents.sql',
    ]);
    expect(rows.every((r) => /^sha256:[0-9a-f]{64}$/.test(r.checksum))).toBe(true);
  });

  it('refuses to run when an applied migration was edited, naming it', async () => {
    await using db = await createTestDatabase('kit');
    await using tree = await copyOfReleases();
    expect((await kit('2023.2', ['schema'], db.url, tree.dir)).exitCode).toBe(0);
    await appendFile(
      join(tree.dir, '2023.1/migrations/0001_customers_and_orders.sql'),
      '\nALTER TABLE orders ADD COLUMN note text;\n',
    );
    const run = await kit('2024.1', ['schema'], db.url, tree.dir);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('migration 2023.1/0001_customers_and_orders.sql was edited after it was applied');
    expect(run.stderr).toContain('next: restore 2023.1/0001_customers_and_orders.sql');
    // Nothing of 2024.1 ran: the refusal comes before any pending migration.
    const applied = await db.query('SELECT 1 FROM leapfrog_kit.schema_migrations WHERE release = $1', ['2024.1']);
    expect(applied).toHaveLength(0);
  });

  it('rolls back a failing migration and leaves the earlier ones recorded', async () => {
    await using db = await createTestDatabase('kit');
    await using tree = await copyOfReleases();
    await writeFile(
      join(tree.dir, '2023.2/migrations/0003_broken.sql'),
      'CREATE TABLE half_done (id int);\nSELECT no_such_column FROM customers;\n',
    );
    const run = await kit('2023.2', ['schema'], db.url, tree.dir);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('migration 2023.2/0003_broken.sql failed and was rolled back');
    expect(await db.query("SELECT to_regclass('half_done') AS t")).toEqual([{ t: null }]);
    expect(await db.query('SELECT id FROM leapfrog_kit.schema_migrations')).toHaveLength(3);
  });

  it('refuses a database that is newer than the release', async () => {
    await using db = await createTestDatabase('kit');
    expect((await kit('2024.1', ['schema'], db.url)).exitCode).toBe(0);
    const run = await kit('2023.2', ['schema'], db.url);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('which release 2023.2 does not know: the database is newer than this release');
  });
});

describe('leapfrog-kit data (batches protocol)', () => {
  it('exits 1 while rows remain, 0 when done, with JSON-lines progress, honouring --max-count', async () => {
    await using db = await createTestDatabase('kit');
    await seedDemoDatabase(db.url, { rows: 1200 }); // 300 customers
    expect((await kit('2024.1', ['schema'], db.url)).exitCode).toBe(0);

    const first = await kit('2024.1', ['data', '--max-count', '250', '--transaction-rows', '100'], db.url);
    expect(first.exitCode).toBe(1);
    expect(first.progress.at(-1)).toEqual({ migration: 'backfill_customer_addresses', done: 250, remaining: 50 });
    expect(first.progress.map((p) => p.done)).toEqual([100, 200, 250]);

    const rest = await kitDataUntilDone('2024.1', db.url, ['--max-count', '1000']);
    expect(rest.map((r) => r.exitCode)).toEqual([1, 0]);
    // Each migration's last line per run holds that run's total; summing those is the work done.
    const totals = new Map<string, number>();
    for (const run of [first, ...rest]) {
      const last = new Map(run.progress.map((p) => [p.migration, p.done]));
      for (const [m, done] of last) totals.set(m, (totals.get(m) ?? 0) + done);
    }
    expect(Object.fromEntries(totals)).toEqual({
      backfill_customer_addresses: 300,
      backfill_customer_email_lower: 300,
      backfill_order_total_cents: 1200,
    });

    const idle = await kit('2024.1', ['data', '--max-count', '1000'], db.url);
    expect(idle.exitCode).toBe(0);
    expect(idle.progress).toEqual([]);
    const wrong = await db.query(
      'SELECT count(*)::int AS n FROM orders WHERE total_cents IS DISTINCT FROM (total * 100)::bigint',
    );
    expect(wrong).toEqual([{ n: 0 }]);
  });

  it('exits 127 on bad input and 2 when migrations fail without progress', async () => {
    await using db = await createTestDatabase('kit');
    expect((await kit('2024.1', ['data', '--max-count', '0'], db.url)).exitCode).toBe(127);
    expect((await kit('2024.1', ['data', '--max-count', 'lots'], db.url)).exitCode).toBe(127);
    expect((await kit('2024.1', ['data', '--no-such-flag'], db.url)).exitCode).toBe(127);

    const early = await kit('2024.1', ['data'], db.url);
    expect(early.exitCode).toBe(2);
    expect(early.stderr).toContain('run the schema phase first: leapfrog-kit schema');

    await using tree = await copyOfReleases();
    await seedDemoDatabase(db.url, { rows: 40 });
    expect((await kit('2023.2', ['schema'], db.url, tree.dir)).exitCode).toBe(0);
    await writeFile(
      join(tree.dir, '2023.2/data/backfill_customer_email_lower.yaml'),
      'table: customers\nkey: id\npending: email_lower IS NULL\napply: UPDATE customers SET email_lower = no_such_column FROM batch WHERE customers.id = batch.key\n',
    );
    await writeFile(
      join(tree.dir, '2023.2/data/backfill_customer_addresses.yaml'),
      'table: customers\nkey: id\npending: "false"\napply: SELECT 1\n',
    );
    const broken = await kit('2023.2', ['data'], db.url, tree.dir);
    expect(broken.exitCode).toBe(2);
    expect(broken.stderr).toContain('backfill_customer_email_lower (2023.2) failed');
  });
});

describe('leapfrog-kit check (upgradecheck protocol)', () => {
  it('prints the upgradecheck JSON and exits with the worst result', async () => {
    await using db = await createTestDatabase('kit');
    await seedDemoDatabase(db.url, { rows: 80 });
    expect((await kit('2024.1', ['schema'], db.url)).exitCode).toBe(0);

    const red = await kit('2024.1', ['check', '--json'], db.url);
    expect(red.exitCode).toBe(2);
    const report = JSON.parse(red.stdout) as {
      name: string;
      checks: { check: string; result: number; details: string }[];
    };
    expect(report.name).toBe('leapfrog-demo 2024.1');
    expect(report.checks.find((c) => c.check === 'Data migration backfill_order_total_cents')).toMatchObject({
      result: 2,
      details: expect.stringContaining('80 rows of orders left') as unknown,
    });

    await kitDataUntilDone('2024.1', db.url);
    const green = await kit('2024.1', ['check', '--json'], db.url);
    expect(green.exitCode).toBe(0);
    const greenReport = JSON.parse(green.stdout) as { checks: { result: number }[] };
    expect(greenReport.checks.length).toBeGreaterThanOrEqual(5);
    expect(greenReport.checks.every((c) => c.result === 0)).toBe(true);

    await using tree = await copyOfReleases();
    await mkdir(join(tree.dir, '2024.1/checks'), { recursive: true });
    await writeFile(
      join(tree.dir, '2024.1/checks/zz_warn.sql'),
      "-- check: A warning\nSELECT 1 AS result, 'just so you know' AS details\n",
    );
    const warning = await kit('2024.1', ['check', '--json'], db.url, tree.dir);
    expect(warning.exitCode).toBe(1);
    expect(warning.stdout).toContain('{"check":"A warning","result":1,"details":"just so you know"}');
  });

  it('exits 255 when it cannot check at all, without printing the database URL', async () => {
    expect((await kit('2024.1', ['check', '--json'], undefined)).exitCode).toBe(255);
    const secretUrl = 'postgres://someone:hunter2-secret@127.0.0.1:1/nowhere';
    const unreachable = await kit('2024.1', ['check', '--json'], secretUrl);
    expect(unreachable.exitCode).toBe(255);
    expect(unreachable.stdout + unreachable.stderr).not.toContain('hunter2-secret');
  });

  it('preflight refuses a database newer than the release', async () => {
    await using db = await createTestDatabase('kit');
    expect((await kit('2024.2', ['schema'], db.url)).exitCode).toBe(0);
    const run = await kit('2024.1', ['check', '--json', '--preflight'], db.url);
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toContain('it is newer than this release');
    expect((await kit('2025.1', ['check', '--json', '--preflight'], db.url)).exitCode).toBe(0);
  });
});
