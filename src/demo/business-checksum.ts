import type pg from 'pg';

/** The demo's business data, reduced to counts and one digest that survives every release. */
export interface BusinessFingerprint {
  customers: number;
  orders: number;
  /** md5 over every customer (name, e-mail, billing address) and order (customer, cents, status). */
  checksum: string;
}

/**
 * Reads the same business facts from whichever release's schema the database has (the address
 * on the customer row or in addresses; the total as decimal or as cents), so a fingerprint
 * taken at 2023.1 must equal one taken at 2025.1 if the upgrade lost or changed nothing.
 */
export async function businessFingerprint(client: pg.ClientBase): Promise<BusinessFingerprint> {
  const columns = await client.query<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name IN ('customers', 'orders')`,
  );
  const has = (t: string, c: string) => columns.rows.some((r) => r.table_name === t && r.column_name === c);
  const address = has('customers', 'street')
    ? 'SELECT c.id, c.name, c.email, c.street, c.city, c.postcode, c.country FROM customers c'
    : `SELECT c.id, c.name, c.email, a.street, a.city, a.postcode, a.country
       FROM customers c LEFT JOIN addresses a ON a.customer_id = c.id AND a.kind = 'billing'`;
  const cents = has('orders', 'total') ? '(o.total * 100)::bigint' : 'o.total_cents';
  const result = await client.query<{ customers: string; orders: string; checksum: string }>(`
    WITH c AS (${address}),
         o AS (SELECT o.id, o.customer_id, ${cents} AS cents, o.status FROM orders o)
    SELECT (SELECT count(*) FROM c) AS customers,
           (SELECT count(*) FROM o) AS orders,
           md5(
             coalesce((SELECT string_agg(concat_ws(',', id, name, email, street, city, postcode, country), ';' ORDER BY id) FROM c), '')
             || '#' ||
             coalesce((SELECT string_agg(concat_ws(',', id, customer_id, cents, status), ';' ORDER BY id) FROM o), '')
           ) AS checksum`);
  const row = result.rows[0];
  return { customers: Number(row?.customers ?? 0), orders: Number(row?.orders ?? 0), checksum: row?.checksum ?? '' };
}
