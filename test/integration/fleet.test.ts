import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { baselineFleet, fleetStatus } from '../../src/fleet/fleet-status.js';
import { runFleet, type FleetRunReport } from '../../src/fleet/run-fleet.js';
import { createTestDatabase, queryAt, type TestDatabase } from '../helpers/database.js';

// Fleets on the suite's real PostgreSQL: each target a real database (or a schema of one) with its
// own ledger and lock, walked by the real runUpgrade with the process executor. The tiny catalog's
// schema command sleeps FLEET_SLEEP seconds, so the order of walks is visible in the ledgers'
// own timings; its check is red while a marker file names the database (FLEET_MARKERS).
const CATALOG = resolve('test/fixtures/fleets/tiny');

let dir: string;
const databases: TestDatabase[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'leapfrog-fleet-'));
  process.env['FLEET_MARKERS'] = dir;
});
afterAll(async () => {
  delete process.env['FLEET_MARKERS'];
  delete process.env['FLEET_SLEEP'];
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(databases.splice(0).map((d) => d.drop()));
});

interface Fleet {
  file: string;
  env: NodeJS.ProcessEnv;
  db: Record<string, TestDatabase>;
}

/** An OpenStack-shaped fleet: identity, then the compute API, then two cells. */
async function openstackFleet(cells: { parallel: number; onError: 'fail' | 'continue' }): Promise<Fleet> {
  const names = ['identity', 'api', 'cell1', 'cell2'];
  const db: Record<string, TestDatabase> = {};
  for (const name of names) {
    const d = await createTestDatabase(`fleet_${name}`);
    databases.push(d);
    db[name] = d;
  }
  const env: NodeJS.ProcessEnv = {};
  for (const name of names) env[`${name.toUpperCase()}_URL`] = db[name]?.url;
  const file = join(dir, `openstack-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(
    file,
    `targets:
${names.map((n) => `  - { name: ${n}, catalog: ${CATALOG}, url: { env: ${n.toUpperCase()}_URL } }`).join('\n')}
groups:
  - { name: identity, match: [identity] }
  - { name: compute-api, match: [api], dependsOn: [identity] }
  - { name: cells, match: ["cell*"], dependsOn: [compute-api], parallel: ${cells.parallel}, onError: ${cells.onError} }
lockstep: true
`,
  );
  const baselined = await baselineFleet({
    fleetFile: file,
    release: '1.0',
    ledgerSchema: 'leapfrog',
    lockTimeoutMs: 5_000,
    verify: false,
    force: false,
    executorKind: 'process',
    env,
  });
  expect(baselined.rows.map((r) => r.status)).toEqual(['baselined', 'baselined', 'baselined', 'baselined']);
  return { file, env, db };
}

function apply(fleet: Fleet, to = '1.2', parallel?: number): Promise<FleetRunReport> {
  return runFleet({
    fleetFile: fleet.file,
    to,
    ledgerSchema: 'leapfrog',
    parallel,
    executorKind: 'process',
    lockTimeoutMs: 5_000,
    env: fleet.env,
  });
}

interface Timing {
  target: string;
  release: string;
  phase: string;
  started: number;
  finished: number;
}

async function timings(url: string, target: string, schema = 'leapfrog'): Promise<Timing[]> {
  const rows = await queryAt<{ release: string; phase: string; started_at: Date; finished_at: Date }>(
    url,
    `SELECT release, phase, started_at, finished_at FROM "${schema}".phases ORDER BY id`,
  );
  return rows.map((r) => ({
    target,
    release: r.release,
    phase: r.phase,
    started: r.started_at.getTime(),
    finished: r.finished_at.getTime(),
  }));
}

async function walkOf(url: string, target: string, release: string): Promise<{ started: number; finished: number }> {
  const phases = (await timings(url, target)).filter((t) => t.release === release);
  return { started: Math.min(...phases.map((p) => p.started)), finished: Math.max(...phases.map((p) => p.finished)) };
}

async function releaseOf(url: string, schema = 'leapfrog'): Promise<string> {
  const rows = await queryAt<{ release: string }>(url, `SELECT release FROM "${schema}".state`);
  return rows[0]?.release ?? '';
}

describe('a lockstep fleet (OpenStack-shaped)', () => {
  it('walks identity, then the API, then the cells, and no target starts 1.2 before all finished 1.1', async () => {
    process.env['FLEET_SLEEP'] = '0.2';
    const fleet = await openstackFleet({ parallel: 2, onError: 'fail' });
    const report = await apply(fleet);
    expect(report.exitCode).toBe(0);
    expect(report.targets.map((t) => [t.target, t.state, t.release])).toEqual([
      ['identity', 'done', '1.2'],
      ['api', 'done', '1.2'],
      ['cell1', 'done', '1.2'],
      ['cell2', 'done', '1.2'],
    ]);
    const walk = async (name: string, release: string) => walkOf(fleet.db[name]?.url ?? '', name, release);
    for (const release of ['1.1', '1.2']) {
      const identity = await walk('identity', release);
      const api = await walk('api', release);
      const cells = [await walk('cell1', release), await walk('cell2', release)];
      expect(api.started).toBeGreaterThanOrEqual(identity.finished);
      for (const cell of cells) expect(cell.started).toBeGreaterThanOrEqual(api.finished);
      // parallel: 2 — the two cells overlap.
      expect(cells[1]?.started).toBeLessThan(cells[0]?.finished ?? 0);
    }
    const lastOf11 = Math.max(
      ...(await Promise.all(['identity', 'api', 'cell1', 'cell2'].map((n) => walk(n, '1.1')))).map((w) => w.finished),
    );
    const firstOf12 = Math.min(
      ...(await Promise.all(['identity', 'api', 'cell1', 'cell2'].map((n) => walk(n, '1.2')))).map((w) => w.started),
    );
    expect(firstOf12).toBeGreaterThanOrEqual(lastOf11);

    const status = await fleetStatus({ fleetFile: fleet.file, ledgerSchema: 'leapfrog', env: fleet.env });
    expect(status.rows.map((r) => [r.target, r.group, r.release, r.state])).toEqual([
      ['identity', 'identity', '1.2', 'ok'],
      ['api', 'compute-api', '1.2', 'ok'],
      ['cell1', 'cells', '1.2', 'ok'],
      ['cell2', 'cells', '1.2', 'ok'],
    ]);
  });

  it('onError fail: a red cell stops the fleet at 1.1 and the other cell never starts', async () => {
    process.env['FLEET_SLEEP'] = '0';
    const fleet = await openstackFleet({ parallel: 1, onError: 'fail' });
    await writeFile(join(dir, `${fleet.db['cell1']?.name}@1.1.fail`), '');
    const report = await apply(fleet);
    expect(report.exitCode).toBe(3);
    expect(report.stoppedAt).toBe('1.1');
    expect(report.targets.map((t) => [t.target, t.state, t.release])).toEqual([
      ['identity', 'stopped', '1.1'],
      ['api', 'stopped', '1.1'],
      ['cell1', 'failed', '1.0'],
      ['cell2', 'stopped', '1.0'],
    ]);
    expect(report.targets[2]?.lastFailure?.message).toMatch(/1\.1/);
    expect(await releaseOf(fleet.db['cell2']?.url ?? '')).toBe('1.0');
    expect(await timings(fleet.db['cell2']?.url ?? '', 'cell2')).toEqual([]);
  });

  it('onError continue: the other cell finishes 1.1, nobody starts 1.2; fixed, a re-run resumes only what is unfinished', async () => {
    process.env['FLEET_SLEEP'] = '0';
    const fleet = await openstackFleet({ parallel: 1, onError: 'continue' });
    const marker = join(dir, `${fleet.db['cell1']?.name}@1.1.fail`);
    await writeFile(marker, '');
    const first = await apply(fleet);
    expect(first.exitCode).toBe(3);
    expect(first.targets.map((t) => [t.target, t.state, t.release])).toEqual([
      ['identity', 'stopped', '1.1'],
      ['api', 'stopped', '1.1'],
      ['cell1', 'failed', '1.0'],
      ['cell2', 'stopped', '1.1'],
    ]);
    expect(first.next).toContain('apply --fleet');
    const status = await fleetStatus({ fleetFile: fleet.file, ledgerSchema: 'leapfrog', env: fleet.env });
    expect(status.rows.find((r) => r.target === 'cell1')).toMatchObject({ state: 'failed', release: '1.0' });
    expect(status.rows.find((r) => r.target === 'cell1')?.lastFailure).toMatch(
      /^1\.1 check failed \(exit 2\): red: marker/,
    );

    await rm(marker);
    const again = await apply(fleet);
    expect(again.exitCode).toBe(0);
    expect(again.targets.every((t) => t.state === 'done' && t.release === '1.2')).toBe(true);
    // cell1 resumed from its own ledger: its 1.1 schema command ran once; only the check ran again.
    const attempts = await queryAt<{ phase: string; status: string; attempts: number }>(
      fleet.db['cell1']?.url ?? '',
      `SELECT phase, status, attempts FROM leapfrog.phases WHERE release = '1.1' ORDER BY id`,
    );
    expect(attempts).toEqual([
      { phase: 'schema', status: 'succeeded', attempts: 1 },
      { phase: 'check', status: 'succeeded', attempts: 2 },
    ]);
    // Nobody else repeated 1.1.
    for (const name of ['identity', 'api', 'cell2']) {
      const phases = await timings(fleet.db[name]?.url ?? '', name);
      expect(phases.filter((t) => t.release === '1.1' && t.phase === 'schema')).toHaveLength(1);
    }
  });
});

describe('a tenant fleet of schemas in one database', () => {
  it('walks two ledger schemas of one database concurrently: their locks do not serialize them', async () => {
    process.env['FLEET_SLEEP'] = '1';
    const d = await createTestDatabase('fleet_tenants');
    databases.push(d);
    const file = join(dir, 'tenants.yaml');
    await writeFile(
      file,
      `targets:
  - { name: tenant-a, catalog: ${CATALOG}, url: { env: SHARED_URL }, ledgerSchema: tenant_a }
  - { name: tenant-b, catalog: ${CATALOG}, url: { env: SHARED_URL }, ledgerSchema: tenant_b }
groups:
  - { name: tenants, match: ["tenant-*"], parallel: 2 }
`,
    );
    const env = { SHARED_URL: d.url };
    const baselined = await baselineFleet({
      fleetFile: file,
      release: '1.0',
      ledgerSchema: 'leapfrog',
      lockTimeoutMs: 5_000,
      verify: false,
      force: false,
      executorKind: 'process',
      env,
    });
    expect(baselined.exitCode).toBe(0);
    const report = await runFleet({
      fleetFile: file,
      to: '1.1',
      ledgerSchema: 'leapfrog',
      executorKind: 'process',
      // Short: a serialized second tenant would wait for the lock and fail (exit 4) at once.
      lockTimeoutMs: 200,
      env,
    });
    expect(report.exitCode).toBe(0);
    const a = (await timings(d.url, 'a', 'tenant_a')).find((t) => t.phase === 'schema');
    const b = (await timings(d.url, 'b', 'tenant_b')).find((t) => t.phase === 'schema');
    expect(b?.started).toBeLessThan(a?.finished ?? 0);
    expect(a?.started).toBeLessThan(b?.finished ?? 0);
    expect(await releaseOf(d.url, 'tenant_a')).toBe('1.1');
    expect(await releaseOf(d.url, 'tenant_b')).toBe('1.1');
  });
});

describe('two fleets over one target', () => {
  it('share its one lock: the second fleet gets exit 4 for that target, and the first is undisturbed', async () => {
    process.env['FLEET_SLEEP'] = '1';
    const d = await createTestDatabase('fleet_shared');
    databases.push(d);
    const file = join(dir, 'shared.yaml');
    await writeFile(
      file,
      `targets:
  - { name: shared, catalog: ${CATALOG}, url: { env: SHARED_URL } }
groups:
  - { name: all, match: ["*"] }
`,
    );
    const env = { SHARED_URL: d.url };
    const base = { fleetFile: file, ledgerSchema: 'leapfrog', executorKind: 'process' as const, env };
    await baselineFleet({ ...base, release: '1.0', lockTimeoutMs: 5_000, verify: false, force: false });
    const first = runFleet({ ...base, to: '1.1', lockTimeoutMs: 5_000 });
    // The second starts once the first holds the target's advisory lock.
    for (let i = 0; i < 100; i++) {
      const rows = await queryAt(
        d.url,
        "SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND d.datname = current_database()",
      ).catch(() => []);
      if (rows.length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const second = await runFleet({ ...base, to: '1.1', lockTimeoutMs: 200 });
    expect(second.exitCode).toBe(4);
    expect(second.targets[0]).toMatchObject({ target: 'shared', state: 'failed', exitCode: 4 });
    expect(second.targets[0]?.lastFailure?.message).toMatch(/lock/);
    const done = await first;
    expect(done.exitCode).toBe(0);
    expect(await releaseOf(d.url)).toBe('1.1');
  });
});
