import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CatalogError } from '../../src/catalog/catalog-error.js';
import { findRelease } from '../../src/catalog/find-release.js';
import { loadCatalog } from '../../src/catalog/load-catalog.js';
import { BadInputError, ExitCode } from '../../src/errors/index.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/catalogs/slurp');
const temporary: string[] = [];

async function tempCatalog(manifests: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'leapfrog-catalog-'));
  temporary.push(dir);
  for (const [folder, text] of Object.entries(manifests)) {
    await mkdir(join(dir, folder), { recursive: true });
    await writeFile(join(dir, folder, 'release.yaml'), text);
  }
  return dir;
}

async function catalogError(dir: string): Promise<CatalogError> {
  const error = await loadCatalog(dir).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CatalogError);
  return error as CatalogError;
}

const minimal = (release: string, extra = '') =>
  `release: "${release}"\nimage: "example/migrate:${release}"\nphases:\n  schema:\n    - { name: db, run: [migrate, up] }\n${extra}`;

afterEach(async () => {
  await Promise.all(temporary.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('loadCatalog', () => {
  it('loads the SLURP fixture in semver order with defaults filled in', async () => {
    const catalog = await loadCatalog(FIXTURE);
    expect(catalog.releases.map((r) => r.id)).toEqual(['2023.1', '2023.2', '2024.1', '2024.2', '2025.1']);
    const [first, second, third] = catalog.releases;
    expect(first?.version).toBe('2023.1.0');
    expect(first?.upgradeFrom).toBe('<2023.1.0');
    expect(second?.upgradeFrom).toBe('2023.1.0');
    expect(second?.upgradeFromIsDefault).toBe(true);
    expect(third?.upgradeFrom).toBe('>=2023.1.0 <2024.1.0');
    expect(third?.upgradeFromIsDefault).toBe(false);
    expect(third?.milestone).toBe(true);
    expect(third?.phases.data).toEqual({
      run: ['leapfrog-kit', 'data', '--max-count', '{batchSize}'],
      protocol: 'batches',
      batchSize: 5000,
      stallAfter: 3,
      env: {},
    });
    expect(third?.timeoutsMs).toEqual({ preflight: 600_000, schema: 1_800_000, data: 21_600_000, check: 600_000 });
    expect(third?.dir).toBe(join(FIXTURE, '2024.1'));
    expect(third?.file).toBe(join(relative(process.cwd(), FIXTURE), '2024.1', 'release.yaml'));
    expect(third?.manifestDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(catalog.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('orders by semver, not by folder name, and applies minimal defaults', async () => {
    const dir = await tempCatalog({
      '2024.10': minimal('2024.10'),
      '2024.9': minimal('2024.9'),
      '2024.2': minimal('2024.2'),
    });
    const catalog = await loadCatalog(dir);
    expect(catalog.releases.map((r) => r.version)).toEqual(['2024.2.0', '2024.9.0', '2024.10.0']);
    expect(catalog.releases[2]?.upgradeFrom).toBe('2024.9.0');
    const release = catalog.releases[0];
    expect(release?.milestone).toBe(false);
    expect(release?.yanked).toBe(false);
    expect(release?.env).toEqual({});
    expect(release?.timeoutsMs.data).toBe(6 * 3_600_000);
  });

  it('fills data-phase defaults: batchSize 1000, stallAfter 3', async () => {
    const dir = await tempCatalog({
      a: minimal('1.0', '  data: { run: [migrate, data] }\n').replace('phases:\n  schema', 'phases:\n  schema'),
    });
    const catalog = await loadCatalog(dir);
    expect(catalog.releases[0]?.phases.data).toEqual({
      run: ['migrate', 'data'],
      protocol: 'batches',
      batchSize: 1000,
      stallAfter: 3,
      env: {},
    });
  });

  it('ignores folders without a release.yaml and hidden folders', async () => {
    const dir = await tempCatalog({ '1.0': minimal('1.0') });
    await mkdir(join(dir, 'shared-sources'));
    await mkdir(join(dir, '.git'));
    await writeFile(join(dir, '.git', 'release.yaml'), 'not: a release');
    const catalog = await loadCatalog(dir);
    expect(catalog.releases.map((r) => r.id)).toEqual(['1.0']);
  });

  it('changes the catalog digest when any manifest changes, and only that manifest digest', async () => {
    const dir = await tempCatalog({ a: minimal('1.0'), b: minimal('1.1') });
    const before = await loadCatalog(dir);
    await writeFile(join(dir, 'b', 'release.yaml'), minimal('1.1', 'env: { LOG: debug }\n'));
    const after = await loadCatalog(dir);
    expect(after.digest).not.toBe(before.digest);
    expect(after.releases[0]?.manifestDigest).toBe(before.releases[0]?.manifestDigest);
    expect(after.releases[1]?.manifestDigest).not.toBe(before.releases[1]?.manifestDigest);
    expect((await loadCatalog(dir)).digest).toBe(after.digest);
  });

  it('refuses a release id that could not name a file: a slash, a space, 65 characters', async () => {
    const dir = await tempCatalog({
      a: minimal('2.0/rc1'),
      b: minimal('2.0 rc1'),
      c: minimal('x'.repeat(65)),
      d: minimal('2.0-rc.1+build.5'),
    });
    const error = await catalogError(dir);
    expect(error.exitCode).toBe(ExitCode.badInput);
    const rule = 'letters, digits, ".", "_", "+" and "-" only, starting with a letter or digit, at most 64 characters';
    expect(error.problems.map((p) => `${p.file.split('/').at(-2) ?? ''}: ${p.path}: ${p.message}`)).toEqual([
      `a: release: ${rule}`,
      `b: release: ${rule}`,
      `c: release: ${rule}`,
    ]);
  });

  it("refuses a duration of 0 or longer than Node's timers hold, naming the longest it takes; 596h is taken", async () => {
    const dir = await tempCatalog({
      '1.0': minimal('1.0'),
      '1.1': minimal('1.1', 'timeouts: { data: 720h, check: 596h, schema: 0 }\n'),
    });
    const error = await catalogError(dir);
    expect(error.exitCode).toBe(ExitCode.badInput);
    expect(error.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'timeouts.schema: must be longer than 0',
      "timeouts.data: at most 596h (24.8 days): longer than Node's timers and PostgreSQL's statement_timeout hold",
    ]);
  });

  it('reports every problem of a broken catalog at once, each with file and field path', async () => {
    const dir = await tempCatalog({
      '2023.1': minimal('2023.1', 'milestone: true\n'),
      '2024.1': [
        'release: "2024.1"',
        'image: "example/migrate:2024.1"',
        'upgradeFrom: "not a range!"',
        'milestone: yes-please',
        'phases:',
        '  schema:',
        '    - { name: db, run: [migrate, up] }',
        '  data: { run: [migrate, data], protocol: batch, batchSize: -5 }',
        '  check: { run: [], protocol: upgradecheck, colour: red }',
        'timeouts: { schema: soon }',
        'owner: team-db',
      ].join('\n'),
      '2024.2': minimal('2024.2', 'upgradeFrom: ">=2025.0.0"\n'),
      'copy-of-2023.1': minimal('2023.1'),
      numeric: 'release: 2024.10\nimage: x\nphases: { schema: [] }\n',
      // image is optional since issue 11 (only the docker executor needs one); phases is not.
      'no-phases': 'release: "2026.1"\nimage: "app:2026.1"\n',
      'bad-yaml': 'release: "2027.1"\nimage: [unclosed\n',
    });
    const error = await catalogError(dir);
    expect(error.exitCode).toBe(ExitCode.badInput);
    const file = (folder: string) => join(dir, folder, 'release.yaml');
    const found = error.problems.map((p) => `${p.file}: ${p.path}: ${p.message}`);
    const expected: [string, string, RegExp][] = [
      [file('2024.1'), 'upgradeFrom', /not a valid semver range/],
      [file('2024.1'), 'milestone', /expected true or false/],
      [file('2024.1'), 'phases.data.protocol', /^expected one of exit0, batches, upgradecheck$/],
      [file('2024.1'), 'phases.data.batchSize', /positive integer/],
      [file('2024.1'), 'phases.check.run', /at least one item/],
      [file('2024.1'), 'phases.check.colour', /unknown key/],
      [file('2024.1'), 'timeouts.schema', /duration/],
      [file('2024.1'), 'owner', /unknown key/],
      [file('2024.2'), 'upgradeFrom', /admits no older release/],
      [file('copy-of-2023.1'), 'release', /duplicate release "2023.1"/],
      [file('copy-of-2023.1'), 'release', /duplicate version 2023.1.0/],
      [file('numeric'), 'release', /expected a quoted string \(YAML reads 2024.1 as a number/],
      [file('no-phases'), 'phases', /^required$/],
      [file('bad-yaml'), '', /not valid YAML: line \d+/],
    ];
    for (const [f, path, message] of expected) {
      expect(
        error.problems.some((p) => p.file === f && p.path === path && message.test(p.message)),
        `missing ${f}: ${path}: ${String(message)}\nfound:\n${found.join('\n')}`,
      ).toBe(true);
    }
    // The message lists each problem as "<file>: <path>: <message>", and ends with the way out.
    expect(error.message).toContain(
      `${file('2024.1')}: phases.data.protocol: expected one of exit0, batches, upgradecheck`,
    );
    expect(error.hint).toContain('leapfrog releases --catalog');
  });

  it('reports the example path relative to the cwd when the catalog lies below it', async () => {
    const name = `.tmp-catalog-test-${process.pid}`;
    const dir = join(process.cwd(), name);
    temporary.push(dir);
    await cp(FIXTURE, dir, { recursive: true });
    await writeFile(join(dir, '2024.1', 'release.yaml'), minimal('2024.1', '  data: { run: [x], protocol: nope }\n'));
    const error = await catalogError(dir);
    expect(error.problems).toEqual([
      {
        file: `${name}/2024.1/release.yaml`,
        path: 'phases.data.protocol',
        message: 'expected one of exit0, batches, upgradecheck',
      },
    ]);
  });

  it('a missing catalog folder is bad input with the way out', async () => {
    const error = await loadCatalog('/nonexistent/release-images').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as BadInputError).message).toContain('/nonexistent/release-images does not exist');
    expect((error as BadInputError).hint).toContain('--catalog');
  });

  it("refuses a command's env that names the database, each with its field", async () => {
    const dir = await tempCatalog({
      '1.0': [
        'release: "1.0"',
        'databaseUrlEnv: APP_URL',
        'phases:',
        '  schema:',
        '    - { name: db, run: [migrate], env: { PGHOST: other, KOLLA_UPGRADE: "yes" } }',
        '  data: { run: [backfill], env: { APP_URL: "postgres://elsewhere" } }',
        '  check: { run: [check], env: { DATABASE_URL: "postgres://elsewhere" } }',
        '',
      ].join('\n'),
    });
    const error = await catalogError(dir);
    expect(error.exitCode).toBe(ExitCode.badInput);
    const paths = error.problems.map((p) => p.path).sort();
    expect(paths).toEqual(['phases.check.env.DATABASE_URL', 'phases.data.env.APP_URL', 'phases.schema[0].env.PGHOST']);
    expect(error.problems[0]?.message).toContain('APP_URL');
    // The URL a manifest tried to set never reaches a message.
    expect(error.message).not.toContain('elsewhere');
  });

  it('an empty catalog folder is a catalog error', async () => {
    const dir = await tempCatalog({});
    const error = await catalogError(dir);
    expect(error.problems[0]?.message).toContain('no releases');
  });
});

describe('findRelease', () => {
  it('finds by id or by version, and names the nearest ids otherwise', async () => {
    const catalog = await loadCatalog(FIXTURE);
    expect(findRelease(catalog, '2024.1').version).toBe('2024.1.0');
    expect(findRelease(catalog, '2024.2.0').id).toBe('2024.2');
    const error = (() => {
      try {
        findRelease(catalog, '2024.3');
      } catch (e) {
        return e as BadInputError;
      }
      throw new Error('expected an error');
    })();
    expect(error).toBeInstanceOf(BadInputError);
    expect(error.message).toBe('unknown release "2024.3"; nearest known: 2024.1, 2024.2, 2023.1');
    expect(error.hint).toBe('list the releases of the catalog with: leapfrog releases');
  });
});
