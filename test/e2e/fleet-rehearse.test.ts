import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminUrl, createTestDatabase, queryAt, type TestDatabase } from '../helpers/database.js';
import { CLI, ROOT } from './apply-helpers.js';

// `rehearse --fleet F --clone --to R` through the built CLI: each target's path rehearsed on a
// TEMPLATE clone of its own database; the targets themselves never move, the clones are dropped,
// and each target gets its plan file and rehearsal report.
const CATALOG = join(ROOT, 'test/fixtures/fleets/tiny');

let dir: string;
let file: string;
const dbs: TestDatabase[] = [];
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'leapfrog-fleet-rehearse-e2e-'));
  const [canary, a, b] = await Promise.all(['frh_canary', 'frh_ta', 'frh_tb'].map((p) => createTestDatabase(p)));
  if (!canary || !a || !b) throw new Error('databases');
  dbs.push(canary, a, b);
  file = join(dir, 'fleet.yaml');
  await writeFile(
    file,
    `targets:
  - { name: canary, catalog: ${CATALOG}, url: { env: CANARY_URL } }
  - { name: tenant-a, catalog: ${CATALOG}, url: { env: A_URL } }
  - { name: tenant-b, catalog: ${CATALOG}, url: { env: B_URL } }
groups:
  - { name: canary, match: [canary] }
  - { name: tenants, match: ["tenant-*"], dependsOn: [canary], parallel: 2 }
`,
  );
  env = { NO_COLOR: '1', CI: '1', CANARY_URL: canary.url, A_URL: a.url, B_URL: b.url, FLEET_SLEEP: '0' };
});

afterAll(async () => {
  await Promise.all(dbs.map((d) => d.drop()));
  await rm(dir, { recursive: true, force: true });
});

const leapfrog = (...args: string[]) => execa('node', [CLI, ...args], { cwd: ROOT, reject: false, env });

describe('leapfrog rehearse --fleet --clone', () => {
  it('rehearses every target on its own clone, leaves the targets and the server as they were, and writes a report per target', async () => {
    const baseline = await leapfrog('baseline', '--fleet', file, '--release', '1.0', '--no-verify');
    expect(baseline.exitCode, baseline.stderr).toBe(0);
    const reports = join(dir, 'reports');
    const run = await leapfrog('rehearse', '--fleet', file, '--clone', '--to', '1.2', '--report-dir', reports);
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    for (const t of ['canary', 'tenant-a', 'tenant-b'])
      expect(run.stdout).toMatch(new RegExp(`${t}\\s+\\S+\\s+1\\.0\\s+succeeded\\s+1\\.2\\s`));
    expect(run.stdout).toContain(
      'rehearsed: every target (3) reaches 1.2 on its copy; the targets themselves did not move',
    );
    expect(run.stdout).toContain(`next: leapfrog apply --fleet ${file} --to 1.2`);
    // The canary's rehearsal ran (and finished) before the tenants' started.
    const lines = run.stdout.split('\n');
    expect(lines.findIndex((l) => /\] canary at 1\.2$/.test(l))).toBeLessThan(
      lines.findIndex((l) => /\] tenant-a \(tenants\) -> 1\.2$/.test(l)),
    );
    expect(run.stdout).toContain('  tenant-b: 1.1 schema db');

    // The targets are where they were; the clones are gone; each target has a plan and a report.
    const status = await leapfrog('status', '--fleet', file, '--output', 'json');
    expect(
      status.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { release: string }).release),
    ).toEqual(['1.0', '1.0', '1.0']);
    const leftovers = await queryAt<{ datname: string }>(
      adminUrl(),
      "SELECT datname FROM pg_database WHERE datname LIKE 'frh\\_%\\_rehearsal\\_%'",
    );
    expect(leftovers.map((r) => r.datname)).toEqual([]);
    for (const t of ['canary', 'tenant-a', 'tenant-b']) {
      const files = await readdir(join(reports, t));
      expect(files).toContain('plan-1.0-to-1.2.json');
      expect(files.some((f) => f.startsWith('rehearsal-1.0-to-1.2-') && f.endsWith('.html'))).toBe(true);
    }
    for (const db of dbs) expect(run.stdout + run.stderr).not.toContain(db.url);
  });

  it('refuses --fleet without --clone (a fleet has no single backup) before anything runs', async () => {
    const result = await leapfrog('rehearse', '--fleet', file, '--to', '1.2');
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('rehearse --fleet needs --clone and --to RELEASE');
    expect(existsSync(join(dir, 'reports-none'))).toBe(false);
  });
});
