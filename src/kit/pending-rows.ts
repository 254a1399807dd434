import type pg from 'pg';
import type { DataMigration } from './release-tree.js';

/** Rows a data migration still has to do: a full count, so it is called once per run, not per batch. */
export async function countPending(client: pg.ClientBase, dm: DataMigration): Promise<number> {
  const result = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${dm.table} WHERE ${dm.pending}`);
  return Number(result.rows[0]?.n ?? 0);
}
