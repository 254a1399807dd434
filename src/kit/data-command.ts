import type pg from 'pg';
import { connectionLost } from './connect.js';
import { KitError } from './kit-error.js';
import { countPending } from './pending-rows.js';
import type { DataMigration, ReleaseTree } from './release-tree.js';
import { readSchemaState } from './schema-state.js';

export interface DataProgress {
  migration: string;
  /** Rows this invocation migrated so far for this migration. */
  done: number;
  /** Rows still to migrate (the count at start minus what was done since). */
  remaining: number;
}

export interface DataOptions {
  /** Rows this invocation may migrate across all data migrations (the protocol's --max-count). */
  maxCount: number;
  /** Rows per transaction: small, so each holds its row locks only briefly. */
  transactionRows: number;
  onProgress: (progress: DataProgress) => void;
  log: (line: string) => void;
}

export interface DataResult {
  /** The batches protocol: 0 nothing more to do, 1 migrated some / run again, 2 errors and no progress. */
  exitCode: 0 | 1 | 2;
  migrated: number;
  errors: number;
  transactions: number;
  longestTransactionMs: number;
  /** 95th percentile of the batch transactions' durations. */
  p95TransactionMs: number;
}

/** Smallest bigint: the keyset starts below every key. */
const KEY_START = '-9223372036854775808';

/**
 * One invocation of the data phase, nova-style: every active data migration in release order,
 * in keyset batches of at most `transactionRows`, one short transaction per batch, skipping rows
 * the application has locked (a later invocation picks them up), until `maxCount` rows are done.
 */
export async function runDataMigrations(
  client: pg.ClientBase,
  tree: ReleaseTree,
  options: DataOptions,
): Promise<DataResult> {
  const state = await readSchemaState(client, tree);
  if (state.pending.length > 0) {
    throw new KitError(
      `${state.pending.length} schema migrations of release ${tree.release} are not applied yet (first: ${state.pending[0]?.id})`,
      'run the schema phase first: leapfrog-kit schema',
    );
  }
  // Every batch is idempotent (its rows stay pending until it commits), so a crash that loses
  // the last few commits only means they run again: no need to wait for each commit's WAL flush.
  await client.query('SET synchronous_commit = off');
  let budget = options.maxCount;
  let migrated = 0;
  let errors = 0;
  let transactions = 0;
  const durations: number[] = [];
  let unfinished = false;
  for (const dm of tree.dataMigrations) {
    if (budget <= 0) {
      unfinished = true;
      break;
    }
    try {
      let remaining = await countPending(client, dm);
      if (remaining === 0) continue;
      let done = 0;
      let last = KEY_START;
      let reachedEnd = false;
      while (budget > 0) {
        const limit = Math.min(options.transactionRows, budget);
        const started = performance.now();
        const batch = await runBatch(client, dm, last, limit);
        durations.push(performance.now() - started);
        transactions += 1;
        done += batch.count;
        budget -= batch.count;
        migrated += batch.count;
        remaining = Math.max(0, remaining - batch.count);
        if (batch.count > 0) options.onProgress({ migration: dm.name, done, remaining });
        if (batch.last !== null) last = batch.last;
        if (batch.count < limit) {
          reachedEnd = true;
          break;
        }
      }
      // The estimate can be off: rows locked by the application were skipped, and writers may
      // have added rows behind the keyset. Only a recount tells whether this migration is done.
      if (reachedEnd || remaining === 0) {
        remaining = await countPending(client, dm);
        options.onProgress({ migration: dm.name, done, remaining });
      }
      if (remaining > 0) unfinished = true;
      options.log(`${dm.name} (${dm.release}): migrated ${done} rows, ${remaining} remaining`);
    } catch (error) {
      // A lost session is not this migration's failure: every later one would fail the same way,
      // and "migrated some, run again" would hide it. Stop the invocation and say so.
      const lost = connectionLost(error);
      if (lost !== null) throw lost;
      errors += 1;
      unfinished = true;
      options.log(`${dm.name} (${dm.release}) failed: ${(error as Error).message}`);
    }
  }
  const exitCode = errors > 0 && migrated === 0 ? 2 : unfinished ? 1 : 0;
  const sorted = durations.sort((a, b) => a - b);
  const p95 = sorted[Math.max(0, Math.ceil(sorted.length * 0.95) - 1)] ?? 0;
  return { exitCode, migrated, errors, transactions, longestTransactionMs: sorted.at(-1) ?? 0, p95TransactionMs: p95 };
}

interface BatchOutcome {
  count: number;
  last: string | null;
}

/**
 * One transaction: lock the next keys with SKIP LOCKED and let the migration's statement do them.
 * `batch` also carries each locked row's ctid: while we hold the row lock the version cannot
 * change, so `WHERE t.ctid = ANY (ARRAY(SELECT row_ctid FROM batch))` finds the rows with a TID
 * scan. A join on the key instead lets the planner merge-join against the whole primary key
 * from its start, which grows with every batch.
 */
async function runBatch(client: pg.ClientBase, dm: DataMigration, after: string, limit: number): Promise<BatchOutcome> {
  const sql = `
    WITH batch AS (
      SELECT ${dm.key} AS key, ctid AS row_ctid FROM ${dm.table}
      WHERE ${dm.key} > $1::bigint AND (${dm.pending})
      ORDER BY ${dm.key}
      LIMIT $2
      FOR UPDATE SKIP LOCKED
    ), applied AS (
      ${dm.apply.trim().replace(/;\s*$/, '')}
    )
    SELECT count(*)::int AS count, max(key)::text AS last FROM batch`;
  const result = await client.query<{ count: number; last: string | null }>(sql, [after, limit]);
  const row = result.rows[0];
  return { count: row?.count ?? 0, last: row?.last ?? null };
}
