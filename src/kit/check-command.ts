import type pg from 'pg';
import { countPending } from './pending-rows.js';
import type { ReleaseCheck, ReleaseTree } from './release-tree.js';
import { readSchemaState } from './schema-state.js';
import type { CheckOutcome, CheckResultCode, UpgradeCheckReport } from './upgradecheck-report.js';

/** Oldest server whose SQL the demo releases use (EXECUTE FUNCTION, IS DISTINCT FROM rows). */
const MIN_SERVER_VERSION = 110000;

/**
 * The green light of a release: its schema is fully applied and unedited, every data migration
 * it carries has no rows left, and its own SQL assertions hold.
 */
export async function runChecks(client: pg.ClientBase, tree: ReleaseTree): Promise<UpgradeCheckReport> {
  const checks: CheckOutcome[] = [];
  const state = await readSchemaState(client, tree);
  checks.push(historyOutcome(state.edited, state.unknown, tree));
  checks.push(
    state.pending.length === 0
      ? ok(`Schema migrations of ${tree.release}`, `all ${tree.migrations.length} migrations applied`)
      : fail(
          `Schema migrations of ${tree.release}`,
          `${state.pending.length} not applied (first: ${state.pending[0]?.id}); run leapfrog-kit schema`,
        ),
  );
  for (const dm of tree.dataMigrations) {
    const name = `Data migration ${dm.name}`;
    checks.push(
      await guarded(name, async () => {
        const remaining = await countPending(client, dm);
        return remaining === 0
          ? ok(name, `no rows of ${dm.table} left to migrate`)
          : fail(name, `${remaining} rows of ${dm.table} left to migrate; run leapfrog-kit data until it exits 0`);
      }),
    );
  }
  if (state.pending.length === 0) {
    for (const check of tree.checks) checks.push(await guarded(check.name, () => runSqlCheck(client, check)));
  }
  return { name: `leapfrog-demo ${tree.release}`, checks };
}

/**
 * Before anything changes: can this release's migrations start from this database at all?
 * Reads only; never creates the history table.
 */
export async function runPreflight(client: pg.ClientBase, tree: ReleaseTree): Promise<UpgradeCheckReport> {
  const checks: CheckOutcome[] = [];
  const version = Number(
    (await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]?.v,
  );
  checks.push(
    version >= MIN_SERVER_VERSION
      ? ok('PostgreSQL version', `server_version_num ${version}`)
      : fail(
          'PostgreSQL version',
          `server_version_num ${version} is older than ${MIN_SERVER_VERSION}; upgrade PostgreSQL first`,
        ),
  );
  const state = await readSchemaState(client, tree);
  checks.push(historyOutcome(state.edited, state.unknown, tree));
  checks.push(ok('Schema migrations to apply', `${state.pending.length} of ${tree.migrations.length}`));
  return { name: `leapfrog-demo ${tree.release} (preflight)`, checks };
}

function historyOutcome(
  edited: readonly { id: string }[],
  unknown: readonly string[],
  tree: ReleaseTree,
): CheckOutcome {
  const name = 'Migration history';
  if (unknown.length > 0) {
    return fail(
      name,
      `the database has ${unknown.length} migrations release ${tree.release} does not know (first: ${unknown[0]}): it is newer than this release`,
    );
  }
  if (edited.length > 0) {
    return fail(name, `${edited.length} applied migrations were edited since (first: ${edited[0]?.id})`);
  }
  return ok(name, 'every applied migration is known to this release and unchanged');
}

async function runSqlCheck(client: pg.ClientBase, check: ReleaseCheck): Promise<CheckOutcome> {
  const result = await client.query<{ result: number; details: string | null }>(check.sql);
  const row = result.rows[0];
  if (row === undefined || ![0, 1, 2].includes(Number(row.result))) {
    return fail(check.name, `${check.path} must return one row (result 0|1|2, details)`);
  }
  return { check: check.name, result: Number(row.result) as CheckResultCode, details: row.details };
}

/** A check whose query fails is a failed check, reported with the others (as oslo.upgradecheck does). */
async function guarded(name: string, fn: () => Promise<CheckOutcome>): Promise<CheckOutcome> {
  try {
    return await fn();
  } catch (error) {
    return fail(name, `the check itself failed: ${(error as Error).message}`);
  }
}

function ok(check: string, details: string): CheckOutcome {
  return { check, result: 0, details };
}

function fail(check: string, details: string): CheckOutcome {
  return { check, result: 2, details };
}
