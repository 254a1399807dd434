import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FleetError, globMatches, groupOf, parseFleetFile } from '../../src/fleet/fleet-file.js';
import { resolveFleet } from '../../src/fleet/resolve-fleet.js';
import { knownSecrets } from '../../src/util/secrets.js';

const OPENSTACK = `
targets:
  - { name: identity, catalog: catalogs/identity, url: { env: IDENTITY_DB_URL } }
  - { name: compute-api, catalog: catalogs/compute-api, url: { env: COMPUTE_API_DB_URL } }
  - { name: cell1, catalog: catalogs/compute-cell, url: { env: CELL1_DB_URL } }
  - { name: cell2, catalog: /abs/compute-cell, url: { file: secrets/cell2-url }, ledgerSchema: cell2_ledger }
groups:
  - { name: cells, match: ["cell*"], dependsOn: [canary], parallel: 8, onError: continue }
  - { name: canary, match: [cell1], dependsOn: [compute-api] }
  - { name: identity, match: [identity] }
  - { name: compute-api, match: [compute-api], dependsOn: [identity] }
lockstep: true
`;

function problemsOf(text: string): string[] {
  try {
    parseFleetFile(text, 'fleet.yaml', '/base');
  } catch (error) {
    if (error instanceof FleetError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  throw new Error('expected a FleetError');
}

describe('fleet.yaml', () => {
  it('reads targets, groups in run order (dependsOn first) and paths relative to the file', () => {
    const fleet = parseFleetFile(OPENSTACK, 'fleet.yaml', '/base');
    expect(fleet.lockstep).toBe(true);
    expect(fleet.targets.map((t) => t.catalog)).toEqual([
      '/base/catalogs/identity',
      '/base/catalogs/compute-api',
      '/base/catalogs/compute-cell',
      '/abs/compute-cell',
    ]);
    expect(fleet.targets[3]?.url).toEqual({ file: '/base/secrets/cell2-url' });
    expect(fleet.targets[3]?.ledgerSchema).toBe('cell2_ledger');
    expect(fleet.runOrder.map((g) => g.name)).toEqual(['identity', 'compute-api', 'canary', 'cells']);
    expect(fleet.groups[1]).toMatchObject({ name: 'canary', parallel: 1, onError: 'fail' });
    expect(fleet.groups[0]).toMatchObject({ parallel: 8, onError: 'continue' });
  });

  it('puts a target in the FIRST group (file order) whose match names it', () => {
    const fleet = parseFleetFile(OPENSTACK, 'fleet.yaml', '/base');
    // cells comes first in the file and its glob matches cell1, so canary never gets it.
    expect(groupOf(fleet.groups, 'cell1')?.name).toBe('cells');
    expect(groupOf(fleet.groups, 'identity')?.name).toBe('identity');
    expect(groupOf(fleet.groups, 'glance')).toBeNull();
    expect(globMatches('tenant-??', 'tenant-07')).toBe(true);
    expect(globMatches('tenant-??', 'tenant-107')).toBe(false);
    expect(globMatches('a.b', 'axb')).toBe(false);
  });

  it('refuses an inline URL and says why', () => {
    const problems = problemsOf(`
targets:
  - { name: db, catalog: c, url: "postgres://u:secret@h/db" }
groups: [{ name: all, match: ["*"] }]
`);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^targets\[0\]\.url: an inline URL is not allowed: .*password.*\{ env: VAR \}/);
    expect(problems.join('\n')).not.toContain('secret');
  });

  it('reports every problem at once, each with its field', () => {
    const problems = problemsOf(`
targets:
  - { name: a, catalog: c, url: { env: A }, colour: red }
  - { name: a, catalog: c, url: { env: B } }
  - { name: "bad name", url: { env: C } }
groups:
  - { name: g1, match: [a], dependsOn: [nowhere], parallel: 0, onError: maybe }
lockstep: "yes"
`);
    expect(problems).toEqual(
      expect.arrayContaining([
        'targets[0].colour: unknown key',
        expect.stringMatching(/^targets\[2\]\.name: /),
        'targets[2].catalog: Invalid input: expected string, received undefined',
        expect.stringMatching(/^groups\[0\]\.parallel: /),
        expect.stringMatching(/^groups\[0\]\.onError: /),
        expect.stringMatching(/^lockstep: /),
      ]),
    );
    expect(problems.length).toBeGreaterThanOrEqual(6);
  });

  it('reports duplicate names, unknown dependsOn and cycles together', () => {
    const problems = problemsOf(`
targets:
  - { name: a, catalog: c, url: { env: A } }
  - { name: a, catalog: c, url: { env: B } }
groups:
  - { name: x, match: [a], dependsOn: [y] }
  - { name: y, match: [b], dependsOn: [x, ghost] }
`);
    expect(problems).toEqual([
      'targets[1].name: "a" is already targets[0]',
      'groups[1].dependsOn[1]: no group is named "ghost"',
      expect.stringMatching(/^groups: dependsOn forms a cycle: x -> y; y -> x, ghost$/),
    ]);
  });

  it('says when the YAML itself is broken, with the line', () => {
    expect(problemsOf('targets: [\n  - {')[0]).toMatch(/^: not valid YAML: line \d+/);
  });
});

describe('resolving a fleet', () => {
  it('reads URLs from variables and files, registers them as secrets, and assigns groups', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleet-'));
    try {
      await writeFile(join(dir, 'cell2-url'), 'postgres://nova:s3cr3t-cell2@db2:5432/cell2\n');
      const fleet = parseFleetFile(OPENSTACK.replace('secrets/cell2-url', 'cell2-url'), 'fleet.yaml', dir);
      const targets = await resolveFleet(fleet, {
        ledgerSchema: 'leapfrog',
        env: {
          IDENTITY_DB_URL: 'postgres://k@db1/keystone',
          COMPUTE_API_DB_URL: 'postgres://n@db1/nova_api',
          CELL1_DB_URL: 'postgres://n@db2/cell1',
        },
      });
      expect(targets.map((t) => [t.name, t.group, t.ledgerSchema, t.target.display])).toEqual([
        ['identity', 'identity', 'leapfrog', 'db1:5432/keystone'],
        ['compute-api', 'compute-api', 'leapfrog', 'db1:5432/nova_api'],
        ['cell1', 'cells', 'leapfrog', 'db2:5432/cell1'],
        ['cell2', 'cells', 'cell2_ledger', 'db2:5432/cell2'],
      ]);
      expect(knownSecrets()).toContain('s3cr3t-cell2');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the target and field of every unset variable, missing file and unmatched target', async () => {
    const fleet = parseFleetFile(
      `
targets:
  - { name: api, catalog: c, url: { env: API_URL_UNSET_FOR_TEST } }
  - { name: cell, catalog: c, url: { file: /nonexistent/cell-url } }
  - { name: stray, catalog: c, url: { env: STRAY_URL } }
  - { name: bad, catalog: c, url: { env: BAD_URL } }
groups: [{ name: cells, match: ["cell*", "bad"] }]
`,
      'fleet.yaml',
      '/base',
    );
    const error = await resolveFleet(fleet, {
      ledgerSchema: 'leapfrog',
      env: { STRAY_URL: 'postgres://x@h/stray', BAD_URL: 'mysql://x:pw@h/db' },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FleetError);
    expect((error as FleetError).exitCode).toBe(2);
    expect((error as FleetError).problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'targets[0].url.env: target "api": the environment variable API_URL_UNSET_FOR_TEST is not set',
      'targets[1].url.file: target "cell": cannot read /nonexistent/cell-url (ENOENT)',
      'targets[2]: target "stray" matches no group: add it (or a glob) to a group\'s match',
      'targets[3].url.env: target "bad": the database URL has scheme "mysql:", not postgres:',
    ]);
    expect((error as FleetError).message).not.toContain('pw@');
  });
});
