import type pg from 'pg';
import { KitError } from './kit-error.js';
import { ensureHistoryTable, KIT_SCHEMA, recordApplied } from './history-table.js';
import { countPending } from './pending-rows.js';
import type { BlockerMigration, ReleaseTree } from './release-tree.js';
import { readSchemaState, type SchemaState } from './schema-state.js';

export interface SchemaResult {
  applied: readonly string[];
  alreadyApplied: number;
}

/**
 * Applies the release's pending migrations in order, each in its own transaction together with
 * its history row, so a failure leaves every earlier migration recorded and this one not at all.
 * There is no down migration: the way back from a bad migration is the backup leapfrog took.
 */
export async function applySchema(
  client: pg.ClientBase,
  tree: ReleaseTree,
  log: (line: string) => void,
): Promise<SchemaResult> {
  // Two kits migrating one database at once would race on the history table.
  await client.query(`SELECT pg_advisory_lock(hashtext('${KIT_SCHEMA}.schema'))`);
  try {
    await ensureHistoryTable(client);
    const state = await readSchemaState(client, tree);
    refuseUnsafeHistory(state, tree);
    const applied: string[] = [];
    for (const migration of state.pending) {
      const started = performance.now();
      await client.query('BEGIN');
      try {
        if (migration.kind === 'blocker') await enforceBlocker(client, tree, migration);
        else await client.query(migration.sql);
        await recordApplied(client, migration, performance.now() - started);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        if (error instanceof KitError) throw error;
        throw new KitError(
          `migration ${migration.id} failed and was rolled back: ${(error as Error).message}`,
          `fix the cause and run the schema phase again; the ${applied.length + state.appliedCount} migrations before it stay applied and will not run again`,
          { cause: error },
        );
      }
      applied.push(migration.id);
      log(`applied ${migration.id} (${Math.round(performance.now() - started)} ms)`);
    }
    return { applied, alreadyApplied: state.appliedCount };
  } finally {
    await client.query(`SELECT pg_advisory_unlock(hashtext('${KIT_SCHEMA}.schema'))`).catch(() => undefined);
  }
}

export function refuseUnsafeHistory(state: SchemaState, tree: ReleaseTree): void {
  const edited = state.edited[0];
  if (edited !== undefined) {
    throw new KitError(
      `migration ${edited.id} was edited after it was applied (recorded ${edited.recorded.slice(0, 19)}…, file now ${edited.current.slice(0, 19)}…); applied migrations are immutable`,
      `restore ${edited.id} to the text that was applied and put the change in a new migration of a later release`,
    );
  }
  const unknown = state.unknown[0];
  if (unknown !== undefined) {
    throw new KitError(
      `the database has migration ${unknown} applied, which release ${tree.release} does not know: the database is newer than this release`,
      'downgrades are not supported; run the kit of the release the database is at or a newer one (leapfrog status shows it)',
    );
  }
}

async function enforceBlocker(client: pg.ClientBase, tree: ReleaseTree, blocker: BlockerMigration): Promise<void> {
  for (const name of blocker.requireFinished) {
    const dm = tree.allDataMigrations.get(name);
    if (dm === undefined) continue; // release-tree.ts already refused unknown names
    const remaining = await countPending(client, dm);
    if (remaining > 0) {
      const carrier = tree.releases[tree.releases.indexOf(blocker.release) - 1] ?? dm.release;
      throw new KitError(
        `blocked by ${blocker.id}: data migration ${name} (introduced in ${dm.release}) has not finished: ${remaining} rows of ${dm.table} still to migrate, and release ${blocker.release} contracts the columns it reads`,
        `finish it with release ${carrier} first: \`leapfrog step\` / \`leapfrog apply\` through ${carrier} (its data phase, \`leapfrog-kit data\`, runs ${name} until it exits 0); a release that retires data migrations cannot be skipped to`,
      );
    }
  }
}
