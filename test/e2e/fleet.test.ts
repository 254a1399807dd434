import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminUrl, createTestDatabase, type TestDatabase } from '../helpers/database.js';
import {
  CATALOG as RUNNER_CATALOG,
  CLI,
  ROOT,
  dataRunning,
  itemsDigest,
  leapfrog as single,
  seedItems,
  waitFor,
} from './apply-helpers.js';

// A tenant fleet through the built CLI: a canary listed in the file and two tenants from an
// inventory query (read through a cursor on a real database), walking 1.0 -> 1.2 each on its own.
const CATALOG = join(ROOT, 'test/fixtures/fleets/tiny');

let dir: string;
let file: string;
const dbs: TestDatabase[] = [];
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'leapfrog-fleet-e2e-'));
  const [inventory, canary, a, b] = await Promise.all(
    ['fleet_inv', 'fleet_canary', 'fleet_ta', 'fleet_tb'].map((p) => createTestDatabase(p)),
  );
  if (!inventory || !canary || !a || !b) throw new Error('databases');
  dbs.push(inventory, canary, a, b);
  await inventory.query('CREATE TABLE tenants (name text, url text, active boolean)');
  await inventory.query('INSERT INTO tenants VALUES ($1, $2, true), ($3, $4, true), ($5, $6, false)', [
    'tenant-a',
    a.url,
    'tenant-b',
    b.url,
    'tenant-gone',
    'postgres://nobody@nowhere/none',
  ]);
  file = join(dir, 'fleet.yaml');
  await writeFile(
    file,
    `targets:
  - { name: canary, catalog: ${CATALOG}, url: { env: CANARY_URL } }
inventory:
  sql: "select name, url from tenants where active order by name"
  url: { env: INVENTORY_URL }
  catalog: ${CATALOG}
groups:
  - { name: canary, match: [canary] }
  - { name: tenants, match: ["tenant-*"], dependsOn: [canary], parallel: 2 }
lockstep: false
`,
  );
  env = {
    NO_COLOR: '1',
    CI: '1',
    CANARY_URL: canary.url,
    INVENTORY_URL: inventory.url,
    FLEET_MARKERS: dir,
    FLEET_SLEEP: '0',
  };
});

afterAll(async () => {
  await Promise.all(dbs.map((d) => d.drop()));
  await rm(dir, { recursive: true, force: true });
});

/** A fleet file of one inventory query (on the test's inventory database) and one group of every target. */
async function inventoryOnlyFleet(name: string, sql: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(
    path,
    `inventory:
  sql: ${JSON.stringify(sql)}
  url: { env: INVENTORY_URL }
  catalog: ${CATALOG}
groups:
  - { name: all, match: ["*"] }
`,
  );
  return path;
}

const leapfrog = (...args: string[]) => execa('node', [CLI, ...args], { cwd: ROOT, reject: false, env });

describe('leapfrog apply --fleet', () => {
  it('baselines, plans, applies and reports a tenant fleet; a red tenant is the exit code, and a re-run finishes it', async () => {
    const baseline = await leapfrog('baseline', '--fleet', file, '--release', '1.0', '--no-verify');
    expect(baseline.stderr).toBe('');
    expect(baseline.exitCode).toBe(0);
    expect(baseline.stdout).toMatch(/tenant-a\s+tenants\s+1\.0\s+baselined/);

    const plan = await leapfrog('plan', '--fleet', file, '--to', '1.2');
    expect(plan.exitCode).toBe(0);
    expect(plan.stdout).toContain('├─ canary (parallel 1; onError fail)');
    expect(plan.stdout).toContain('└─ tenants (after canary; parallel 2; onError fail)');
    expect(plan.stdout).toMatch(/tenant-b {2}1\.0 -> 1\.1 -> 1\.2/);

    const marker = join(dir, `${dbs[3]?.name}@1.1.fail`);
    await writeFile(marker, '');
    const failed = await leapfrog('apply', '--fleet', file, '--to', '1.2', '--no-backup');
    expect(failed.exitCode).toBe(3);
    expect(failed.stdout).toMatch(/canary\s+canary\s+1\.2\s+done\s+0/);
    expect(failed.stdout).toMatch(/tenant-a\s+tenants\s+1\.2\s+done\s+0/);
    expect(failed.stdout).toMatch(/tenant-b\s+tenants\s+1\.0\s+failed\s+3\s+/);
    expect(failed.stdout).toContain('2 of 3 targets at 1.2 (exit 3)');
    expect(failed.stdout).toContain(`next: leapfrog apply --fleet ${file} --to 1.2`);
    expect(failed.stdout).toMatch(/\[\d\/3 done, \d running, \d failed\] tenant-b \(tenants\) -> 1\.2/);
    expect(failed.stdout).toContain('tenant-b: 1.1 schema db');
    for (const secret of [dbs[2]?.url, dbs[3]?.url, adminUrl()])
      expect(failed.stdout + failed.stderr).not.toContain(secret);

    const status = await leapfrog('status', '--fleet', file, '--output', 'json');
    expect(status.exitCode).toBe(0);
    const rows = status.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => [r['type'], r['target'], r['group'], r['release'], r['state']])).toEqual([
      ['fleet-status', 'canary', 'canary', '1.2', 'ok'],
      ['fleet-status', 'tenant-a', 'tenants', '1.2', 'ok'],
      ['fleet-status', 'tenant-b', 'tenants', '1.0', 'failed'],
    ]);
    expect(rows[2]?.['lastFailure']).toMatch(/^1\.1 check failed \(exit 2\)/);

    await rm(marker);
    const again = await leapfrog('apply', '--fleet', file, '--to', '1.2', '--no-backup', '--output', 'json');
    expect(again.exitCode).toBe(0);
    const lines = again.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    // Only tenant-b had anything to do; the others report "at 1.2" without running a phase.
    expect(lines.filter((l) => l['type'] === 'target-phase').map((l) => l['target'])).toEqual(
      expect.arrayContaining(['tenant-b']),
    );
    expect(new Set(lines.filter((l) => l['type'] === 'target-phase').map((l) => l['target']))).toEqual(
      new Set(['tenant-b']),
    );
    expect(lines.at(-1)).toMatchObject({ type: 'fleet-summary', exitCode: 0, to: '1.2', next: null });
    expect(
      lines.filter((l) => l['type'] === 'fleet-target').map((l) => [l['target'], l['state'], l['release']]),
    ).toEqual([
      ['canary', 'done', '1.2'],
      ['tenant-a', 'done', '1.2'],
      ['tenant-b', 'done', '1.2'],
    ]);
  });

  it('an inventory query of several statements cannot end its READ ONLY transaction and write (exit 2)', async () => {
    const sneaky = await inventoryOnlyFleet(
      'sneaky.yaml',
      'select name, url from tenants where active; commit; delete from tenants',
    );
    const plan = await leapfrog('plan', '--fleet', sneaky, '--to', '1.2');
    expect(plan.exitCode).toBe(2);
    expect(plan.stderr).toContain('the inventory query failed');
    expect(plan.stderr).toContain('cannot insert multiple commands into a prepared statement');
    expect(await dbs[0]?.query('SELECT name FROM tenants ORDER BY name')).toEqual([
      { name: 'tenant-a' },
      { name: 'tenant-b' },
      { name: 'tenant-gone' },
    ]);
  });

  it('an inventory row whose name would make a path, or whose ledger_schema is public, is refused (exit 2)', async () => {
    await dbs[0]?.query('CREATE TABLE tenants_odd (name text, url text, ledger_schema text)');
    await dbs[0]?.query('INSERT INTO tenants_odd VALUES ($1, $2, NULL), ($3, $4, $5)', [
      '../../escaped',
      dbs[2]?.url,
      'tenant-pub',
      dbs[3]?.url,
      'public',
    ]);
    const odd = await inventoryOnlyFleet('odd.yaml', 'select name, url, ledger_schema from tenants_odd order by name');
    const plan = await leapfrog('plan', '--fleet', odd, '--to', '1.2');
    expect(plan.exitCode).toBe(2);
    expect(plan.stderr).toContain(
      'inventory.sql (row 1): target name "../../escaped": letters, digits, ".", "_" and "-" only',
    );
    expect(plan.stderr).toContain(
      `inventory.sql (row 2): target "tenant-pub": ledger_schema is a schema of PostgreSQL's own or of every application`,
    );
  });

  it('refuses a fleet file with an inline URL before anything runs (exit 2)', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(
      bad,
      `targets:\n  - { name: x, catalog: ${CATALOG}, url: "postgres://u:hunter2@h/db" }\ngroups: [{ name: all, match: ["*"] }]\n`,
    );
    const result = await leapfrog('apply', '--fleet', bad, '--to', '1.2');
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('targets[0].url: an inline URL is not allowed');
    expect(result.stderr + result.stdout).not.toContain('hunter2');
  });
});

describe('kill -9 of a fleet', () => {
  it('mid data phase: the re-run resumes every tenant from its own ledger to the same data as an uninterrupted run', async () => {
    const [clean, a, b] = await Promise.all(['fleet_clean', 'fleet_ka', 'fleet_kb'].map((p) => createTestDatabase(p)));
    if (!clean || !a || !b) throw new Error('databases');
    dbs.push(clean, a, b);
    for (const db of [clean, a, b]) {
      await seedItems(db, 1000);
      expect((await single(['baseline', '--release', '2023.1'], db.url)).exitCode).toBe(0);
    }
    const reference = await single(['apply', '--to', '2024.1'], clean.url);
    expect(reference.exitCode, reference.stderr).toBe(0);

    const killFile = join(dir, 'kill.yaml');
    await writeFile(
      killFile,
      `targets:
  - { name: tenant-a, catalog: ${RUNNER_CATALOG}, url: { env: TENANT_A_URL } }
  - { name: tenant-b, catalog: ${RUNNER_CATALOG}, url: { env: TENANT_B_URL } }
groups:
  - { name: tenants, match: ["tenant-*"], parallel: 2 }
`,
    );
    const fleetEnv = { ...env, TENANT_A_URL: a.url, TENANT_B_URL: b.url };
    const run = execa('node', [CLI, 'apply', '--fleet', killFile, '--to', '2024.1', '--no-backup'], {
      cwd: ROOT,
      reject: false,
      env: { ...fleetEnv, FX_SLEEP_MS: '700' },
    });
    await waitFor(() => dataRunning(a, '2024.1'));
    run.kill('SIGKILL');
    expect((await run).signal).toBe('SIGKILL');
    // The fixture's in-flight batch runs in its own process group and finishes on its own.
    await new Promise((r) => setTimeout(r, 1500));

    const resumed = await execa('node', [CLI, 'apply', '--fleet', killFile, '--to', '2024.1', '--no-backup'], {
      cwd: ROOT,
      reject: false,
      env: fleetEnv,
    });
    expect(resumed.exitCode, resumed.stdout + resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('done: every target (2) is at 2024.1');
    const expected = await itemsDigest(clean);
    expect(await itemsDigest(a)).toBe(expected);
    expect(await itemsDigest(b)).toBe(expected);
  });
});
