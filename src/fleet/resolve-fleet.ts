import { readFile } from 'node:fs/promises';
import { BadInputError, LeapfrogError } from '../errors/index.js';
import { ledgerSchemaName, ledgerSchemaProblem } from '../ledger/ledger-schema-name.js';
import { connectClient } from '../pg/connect.js';
import { oneStatement } from '../pg/sql-text.js';
import { databaseTargetFromUrl, type DatabaseTarget } from '../pg/database-target.js';
import { logger } from '../util/logger.js';
import { redactKnown } from '../util/secrets.js';
import {
  FleetError,
  groupOf,
  TARGET_NAME,
  TARGET_NAME_RULE,
  type FleetFile,
  type FleetProblem,
  type UrlSource,
} from './fleet-file.js';

const log = logger('fleet');

/** One database of the fleet, ready to walk: its URL resolved (and registered as a secret). */
export interface FleetTarget {
  name: string;
  group: string;
  catalogDir: string;
  target: DatabaseTarget;
  ledgerSchema: string;
}

export interface ResolveFleetOptions {
  /** `--ledger-schema`: the schema of targets that do not name their own. */
  ledgerSchema: string;
  env?: NodeJS.ProcessEnv;
  /** Rows fetched per round trip from the inventory cursor. */
  inventoryBatch?: number;
}

/**
 * Every target of the fleet with its URL and group, or every problem at once (FleetError, exit
 * 2): an unset variable, a missing URL file, a bad URL, an inventory row without a name or URL,
 * a duplicate name, a target no group matches. Each problem names the target and the field.
 * Resolution happens before anything runs, so a broken fleet never half-runs.
 */
export async function resolveFleet(file: FleetFile, options: ResolveFleetOptions): Promise<FleetTarget[]> {
  const env = options.env ?? process.env;
  const problems: FleetProblem[] = [];
  const problem = (path: string, message: string) => problems.push({ file: file.file, path, message });
  const targets: FleetTarget[] = [];
  const names = new Set<string>();
  const defaultSchema = ledgerSchemaName(options.ledgerSchema);

  const add = (name: string, where: string, catalogDir: string, target: DatabaseTarget, schema: string | undefined) => {
    if (names.has(name)) {
      problem(where, `target "${name}" is listed twice`);
      return;
    }
    names.add(name);
    const group = groupOf(file.groups, name);
    if (group === null) {
      problem(where, `target "${name}" matches no group: add it (or a glob) to a group's match`);
      return;
    }
    targets.push({ name, group: group.name, catalogDir, target, ledgerSchema: schema ?? defaultSchema });
  };

  for (const [i, spec] of file.targets.entries()) {
    const target = await resolveUrl(spec.url, `targets[${i}].url`, `target "${spec.name}"`, env, problem);
    if (target !== null) add(spec.name, `targets[${i}]`, spec.catalog, target, spec.ledgerSchema);
  }

  if (file.inventory !== null) {
    const { inventory } = file;
    const source = await resolveUrl(inventory.url, 'inventory.url', 'the inventory', env, problem);
    if (source !== null) {
      try {
        await readInventory(source, inventory.sql, options.inventoryBatch ?? 500, (row, n) => {
          const where = `inventory.sql (row ${n})`;
          const name = typeof row['name'] === 'string' ? row['name'] : null;
          const url = typeof row['url'] === 'string' ? row['url'] : null;
          const schema = row['ledger_schema'];
          if (name === null || name === '' || url === null || url === '') {
            problem(where, 'every row needs a non-empty text `name` and `url` column');
            return;
          }
          // The name becomes report folders (rehearse --fleet): the file's own rule, so no
          // `../` from a database row can write outside the report folder.
          if (!TARGET_NAME.test(name)) {
            problem(where, `target name ${JSON.stringify(name)}: ${TARGET_NAME_RULE}`);
            return;
          }
          if (schema !== undefined && schema !== null) {
            const why = typeof schema === 'string' ? ledgerSchemaProblem(schema) : 'not text';
            if (why !== null) {
              problem(where, `target "${name}": ledger_schema is ${why}`);
              return;
            }
          }
          const target = targetFromUrl(url, where, `target "${name}"`, problem);
          if (target !== null)
            add(name, where, inventory.catalog, target, typeof schema === 'string' ? schema : undefined);
        });
      } catch (error) {
        if (!(error instanceof LeapfrogError)) throw error;
        problem('inventory.sql', `${error.message}`);
      }
    }
  }
  if (problems.length > 0) throw new FleetError(file.file, problems);
  log.debug(`fleet ${file.file}: ${targets.length} targets`);
  return targets;
}

async function resolveUrl(
  source: UrlSource,
  where: string,
  who: string,
  env: NodeJS.ProcessEnv,
  problem: (path: string, message: string) => void,
): Promise<DatabaseTarget | null> {
  if ('env' in source) {
    const value = env[source.env];
    if (value === undefined || value === '') {
      problem(`${where}.env`, `${who}: the environment variable ${source.env} is not set`);
      return null;
    }
    return targetFromUrl(value, `${where}.env`, who, problem);
  }
  let text: string;
  try {
    text = await readFile(source.file, 'utf8');
  } catch (error) {
    problem(
      `${where}.file`,
      `${who}: cannot read ${source.file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
    return null;
  }
  return targetFromUrl(text.trim(), `${where}.file`, who, problem);
}

/** databaseTargetFromUrl registers the secret first, so its refusal (which never quotes the URL) is safe to collect. */
function targetFromUrl(
  url: string,
  where: string,
  who: string,
  problem: (path: string, message: string) => void,
): DatabaseTarget | null {
  try {
    return databaseTargetFromUrl(url);
  } catch (error) {
    if (!(error instanceof LeapfrogError)) throw error;
    problem(where, `${who}: ${error.message}`);
    return null;
  }
}

/**
 * Streams the inventory query through a server-side cursor, `batch` rows per round trip, so a
 * fleet of thousands of tenants never holds the query's whole result at once. Read-only: the
 * transaction is rolled back.
 */
async function readInventory(
  source: DatabaseTarget,
  sql: string,
  batch: number,
  onRow: (row: Record<string, unknown>, n: number) => void,
): Promise<void> {
  const client = await connectClient(source, 'leapfrog fleet inventory');
  try {
    await client.query('BEGIN READ ONLY');
    await client.query(oneStatement({ text: `DECLARE leapfrog_inventory NO SCROLL CURSOR FOR ${sql}` }));
    let n = 0;
    for (;;) {
      const { rows } = await client.query<Record<string, unknown>>(`FETCH ${batch} FROM leapfrog_inventory`);
      for (const row of rows) onRow(row, ++n);
      if (rows.length < batch) break;
    }
    await client.query('ROLLBACK');
  } catch (error) {
    if (error instanceof LeapfrogError) throw error;
    throw new BadInputError(
      `the inventory query failed on ${source.display}: ${redactKnown((error as Error).message)}`,
      {
        hint: 'run the query by hand against the inventory database; it must return text columns name and url',
        cause: error,
      },
    );
  } finally {
    await client.end().catch((error: unknown) => log.suppressed('closing the inventory connection', error));
  }
}
