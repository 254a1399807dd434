import pg from 'pg';
import { BadInputError } from '../errors/index.js';
import { KitError } from '../kit/kit-error.js';
import { loadReleaseTree } from '../kit/release-tree.js';
import { applySchema } from '../kit/schema-command.js';
import { logger } from '../util/logger.js';
import { defaultCatalogDir } from './demo-paths.js';

const log = logger('demo');

export interface SeedOptions {
  /** Orders to create; customers are a quarter of that (at least one). */
  rows: number;
  /** Folder of the demo releases (release-images/); the 2023.1 schema comes from there. */
  catalogDir?: string;
  log?: (line: string) => void;
}

export interface SeedResult {
  customers: number;
  orders: number;
  durationMs: number;
}

/** The release the seed data belongs to: the demo's oldest. */
export const SEED_RELEASE = '2023.1';

/**
 * Fills a demo database at release 2023.1 with `rows` orders and rows/4 customers, set-based
 * (generate_series) in one transaction. An empty database first gets the 2023.1 schema from the
 * 2023.1 release kit, exactly as that release's schema phase would create it. Values are
 * deterministic, so two seeds of the same size hold the same business data.
 */
export async function seedDemoDatabase(url: string, options: SeedOptions): Promise<SeedResult> {
  if (!Number.isInteger(options.rows) || options.rows < 1) {
    throw new BadInputError(`--rows must be a positive integer, got ${options.rows}`, {
      hint: 'pass e.g. --rows 100000',
    });
  }
  const started = performance.now();
  const client = new pg.Client({ connectionString: url, application_name: 'leapfrog-demo-seed' });
  log.debug(`seeding ${options.rows} orders: connecting`);
  await client.connect();
  try {
    const shape = await tableShape(client);
    if (shape === 'absent') {
      const tree = await loadReleaseTree(options.catalogDir ?? defaultCatalogDir(), SEED_RELEASE);
      await applySchema(client, tree, options.log ?? (() => undefined));
    } else if (shape === 'other') {
      throw new BadInputError(
        `the database has customers/orders tables that are not the demo's ${SEED_RELEASE} schema`,
        {
          hint: 'seed an empty database (or one created by the 2023.1 kit: leapfrog-kit schema)',
        },
      );
    }
    const existing = await client.query<{ n: string }>(
      'SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM orders) AS n',
    );
    if (Number(existing.rows[0]?.n) > 0) {
      throw new BadInputError('the demo database already holds customers or orders', {
        hint: 'seed a fresh database (leapfrog demo creates one)',
      });
    }
    const customers = Math.max(1, Math.ceil(options.rows / 4));
    await client.query('BEGIN');
    // One set-based check of the foreign key after the load is much cheaper than one per row.
    await client.query('ALTER TABLE orders DROP CONSTRAINT orders_customer_id_fkey');
    await client.query(
      `INSERT INTO customers (name, email, street, city, postcode, country, created_at)
       SELECT 'Customer ' || g,
              'Customer.' || g || '@Example.com',
              (g % 997 + 1) || ' ' || (ARRAY['Main Street', 'Station Road', 'Rua Augusta', 'Karl Johans gate', 'Via Roma'])[1 + g % 5],
              (ARRAY['Leeds', 'York', 'Lisbon', 'Oslo', 'Turin'])[1 + g % 5],
              lpad((g * 37 % 100000)::text, 5, '0'),
              (ARRAY['GB', 'GB', 'PT', 'NO', 'IT'])[1 + g % 5],
              timestamptz '2022-01-01 00:00:00+00' + g * interval '1 minute'
       FROM generate_series(1, $1::bigint) AS g`,
      [customers],
    );
    await client.query(
      `INSERT INTO orders (customer_id, total, status, placed_at)
       SELECT first.id + (g * 7919) % $2::bigint,
              ((g * 2654435761) % 100000) / 100.0,
              (ARRAY['new', 'paid', 'shipped', 'cancelled'])[1 + g % 4],
              timestamptz '2022-06-01 00:00:00+00' + g * interval '10 seconds'
       FROM generate_series(1, $1::bigint) AS g, (SELECT min(id) AS id FROM customers) AS first`,
      [options.rows, customers],
    );
    await client.query(
      'ALTER TABLE orders ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers (id)',
    );
    await client.query('COMMIT');
    await client.query('ANALYZE customers, orders');
    return { customers, orders: options.rows, durationMs: performance.now() - started };
  } catch (error) {
    await client
      .query('ROLLBACK')
      .catch((rollbackError: unknown) => log.suppressed('rolling back the demo seed', rollbackError));
    if (error instanceof KitError) {
      throw new BadInputError(`the ${SEED_RELEASE} schema could not be created: ${error.message}`, {
        hint: error.hint,
        cause: error,
      });
    }
    throw error;
  } finally {
    await client.end().catch((endError: unknown) => log.suppressed('closing the demo seed connection', endError));
  }
}

async function tableShape(client: pg.Client): Promise<'absent' | 'seedable' | 'other'> {
  const result = await client.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name IN ('customers', 'orders')`,
  );
  if (result.rows.length === 0) return 'absent';
  const has = (t: string, c: string) => result.rows.some((r) => r.table_name === t && r.column_name === c);
  return has('customers', 'street') && has('orders', 'total') && !has('customers', 'email_lower')
    ? 'seedable'
    : 'other';
}
