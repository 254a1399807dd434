import type pg from 'pg';

/**
 * A content fingerprint of a database: per table, its row count and an order-independent md5
 * of its rows; plus the column layout and sequence positions. Two databases with equal
 * fingerprints hold the same data in the same shape, which is how a restore (or an untouched
 * production database during a rehearsal) is proven. Reads only.
 */
export interface DatabaseFingerprint {
  /** `schema.table` -> `<rows>:<md5>`. */
  tables: Record<string, string>;
  /** md5 over every column's schema, table, name, type and position. */
  columns: string;
  /** `schema.sequence` -> last value. */
  sequences: Record<string, string>;
}

export async function fingerprintDatabase(client: pg.ClientBase): Promise<DatabaseFingerprint> {
  const tables = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg\\_%'
      ORDER BY 1, 2`,
  );
  const result: DatabaseFingerprint = { tables: {}, columns: '', sequences: {} };
  for (const t of tables.rows) {
    const qualified = `"${t.schema.replace(/"/g, '""')}"."${t.name.replace(/"/g, '""')}"`;
    const { rows } = await client.query<{ n: string; digest: string | null }>(
      `SELECT count(*) AS n, md5(string_agg(md5(x::text), '' ORDER BY md5(x::text))) AS digest FROM ${qualified} x`,
    );
    result.tables[`${t.schema}.${t.name}`] = `${rows[0]?.n ?? 0}:${rows[0]?.digest ?? '-'}`;
  }
  const columns = await client.query<{ digest: string | null }>(
    `SELECT md5(string_agg(concat_ws('|', table_schema, table_name, column_name, data_type, ordinal_position, is_nullable, column_default), ';'
                           ORDER BY table_schema, table_name, ordinal_position)) AS digest
       FROM information_schema.columns WHERE table_schema NOT IN ('pg_catalog', 'information_schema')`,
  );
  result.columns = columns.rows[0]?.digest ?? '';
  const sequences = await client.query<{ schema: string; name: string; last: string | null }>(
    `SELECT schemaname AS schema, sequencename AS name, last_value::text AS last FROM pg_sequences
      WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
  );
  for (const s of sequences.rows) result.sequences[`${s.schema}.${s.name}`] = s.last ?? 'unused';
  return result;
}
