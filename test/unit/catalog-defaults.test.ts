import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CatalogError } from '../../src/catalog/catalog-error.js';
import { sha256Digest } from '../../src/catalog/digest.js';
import { displayPath, loadCatalog } from '../../src/catalog/load-catalog.js';
import { mergeDefaults } from '../../src/catalog/validate-manifest.js';
import { ExitCode } from '../../src/errors/index.js';

// catalog.yaml: defaults merged under every release.yaml, problems reported where they were written.

const temporary: string[] = [];

async function tempCatalog(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'leapfrog-defaults-'));
  temporary.push(dir);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), text);
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

const shown = (dir: string, path: string) => displayPath(join(dir, path));

const DEFAULTS = `defaults:
  local: { path: [node_modules/.bin, bin], install: [npm, ci, --omit=dev] }
  databaseUrlEnv: APP_DATABASE_URL
  env: { LOG_LEVEL: warn, REGION: eu }
  timeouts: { check: 2m }
  phases:
    schema: [ { name: migrate, run: [app, migrate] } ]
    check:
      sql:
        - { name: "schema present", query: "select 1 where to_regclass('app.jobs') is null" }
        - { name: "no orphans", query: "select 1 where false", severity: warning }
`;

afterEach(async () => {
  await Promise.all(temporary.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('mergeDefaults', () => {
  it('merges mappings key by key, replaces lists whole, and lets the release win', () => {
    const merged = mergeDefaults(
      {
        env: { A: '1', B: '2' },
        phases: { check: { sql: [{ name: 'a' }, { name: 'b' }], protocol: 'exit0' } },
        image: 'x',
      },
      { env: { B: 'release' }, phases: { check: { sql: [{ name: 'c' }] } }, image: 'y' },
    );
    expect(merged).toEqual({
      env: { A: '1', B: 'release' },
      phases: { check: { sql: [{ name: 'c' }], protocol: 'exit0' } },
      image: 'y',
    });
  });

  it('keeps a __proto__ key a key, so the schema reports it as unknown', () => {
    const own = JSON.parse('{"__proto__": {"polluted": true}, "env": {}}') as Record<string, unknown>;
    const merged = mergeDefaults({ env: { A: '1' } }, own);
    expect(Object.keys(merged).sort()).toEqual(['__proto__', 'env']);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
  });

  it('a release value that is not a mapping replaces a default mapping (and the schema judges it)', () => {
    expect(mergeDefaults({ env: { A: '1' } }, { env: 'oops' })).toEqual({ env: 'oops' });
  });
});

describe('catalog.yaml defaults', () => {
  it('are merged under every release; the release’s own values win; lists are replaced', async () => {
    const dir = await tempCatalog({
      'catalog.yaml': DEFAULTS,
      // Valid only thanks to the defaults: no phases of its own.
      '1.0/release.yaml': 'release: "1.0"\n',
      '1.1/release.yaml': `release: "1.1"
databaseUrlEnv: OTHER_URL
env: { REGION: us }
timeouts: { schema: 5m }
phases:
  check: { sql: [ { name: "only mine", query: "select 1 where false" } ] }
`,
    });
    const catalog = await loadCatalog(dir);
    const [first, second] = catalog.releases;
    expect(first?.local).toEqual({
      path: ['node_modules/.bin', 'bin'],
      cwd: '.',
      install: ['npm', 'ci', '--omit=dev'],
    });
    expect(first?.databaseUrlEnv).toBe('APP_DATABASE_URL');
    expect(first?.env).toEqual({ LOG_LEVEL: 'warn', REGION: 'eu' });
    expect(first?.timeoutsMs.check).toBe(120_000);
    expect(first?.phases.schema).toEqual([{ name: 'migrate', run: ['app', 'migrate'], protocol: 'exit0', env: {} }]);
    expect(first?.phases.check?.sql.map((c) => [c.name, c.severity])).toEqual([
      ['schema present', 'failure'],
      ['no orphans', 'warning'],
    ]);
    expect(second?.databaseUrlEnv).toBe('OTHER_URL');
    expect(second?.env).toEqual({ LOG_LEVEL: 'warn', REGION: 'us' });
    expect(second?.timeoutsMs).toMatchObject({ check: 120_000, schema: 300_000 });
    expect(second?.phases.check?.sql.map((c) => c.name)).toEqual(['only mine']);
    expect(second?.phases.schema.map((c) => c.name)).toEqual(['migrate']);
  });

  it('a bad default is reported once in catalog.yaml, a bad release field in its release.yaml, all at once', async () => {
    const dir = await tempCatalog({
      'catalog.yaml': `defaults:
  phases:
    schema: [ { name: migrate, run: [app, migrate] } ]
    check: { sql: [ { name: "empty", query: "" } ] }
`,
      '1.0/release.yaml': 'release: "1.0"\n',
      '1.1/release.yaml': 'release: "1.1"\nmilestone: "yes"\n',
      '1.2/release.yaml': 'release: "1.2"\nphases: { check: { sql: [ { name: "mine", query: "" } ] } }\n',
    });
    const error = await catalogError(dir);
    expect(error.exitCode).toBe(ExitCode.badInput);
    expect(error.problems).toEqual([
      { file: shown(dir, 'catalog.yaml'), path: 'defaults.phases.check.sql[0].query', message: 'must not be empty' },
      { file: shown(dir, '1.1/release.yaml'), path: 'milestone', message: 'expected true or false' },
      { file: shown(dir, '1.2/release.yaml'), path: 'phases.check.sql[0].query', message: 'must not be empty' },
    ]);
    expect(error.message).toContain(
      `${shown(dir, 'catalog.yaml')}: defaults.phases.check.sql[0].query: must not be empty`,
    );
  });

  it('refuses an env that names the database, in catalog.yaml and in a release, where it was written', async () => {
    const dir = await tempCatalog({
      'catalog.yaml': 'defaults:\n  env: { PGHOST: prod.example, REGION: eu }\n  phases: { schema: [] }\n',
      '1.0/release.yaml': 'release: "1.0"\n',
      '1.1/release.yaml': 'release: "1.1"\nenv: { DATABASE_URL: "postgres://prod.example/app" }\n',
    });
    const error = await catalogError(dir);
    expect(error.exitCode).toBe(ExitCode.badInput);
    expect(error.problems.map((p) => [p.file, p.path])).toEqual([
      [shown(dir, 'catalog.yaml'), 'defaults.env.PGHOST'],
      [shown(dir, '1.1/release.yaml'), 'env.DATABASE_URL'],
    ]);
    expect(error.problems[0]?.message).toContain('an env may not name the database');
    expect(error.message).not.toContain('prod.example/app');
  });

  it('names the file that holds the deeper part of a path: a default list item missing a field', async () => {
    const dir = await tempCatalog({
      'catalog.yaml': 'defaults:\n  phases: { check: { sql: [ { query: "select 1 where false" } ] }, schema: [] }\n',
      '1.0/release.yaml': 'release: "1.0"\nphases: { check: { run: [app, check] } }\n',
    });
    const error = await catalogError(dir);
    expect(error.problems).toEqual([
      { file: shown(dir, 'catalog.yaml'), path: 'defaults.phases.check.sql[0].name', message: 'required' },
    ]);
  });

  it('refuses release/version under defaults and unknown keys in catalog.yaml, with the releases’ problems too', async () => {
    const dir = await tempCatalog({
      'catalog.yaml':
        'defaults:\n  release: "9.9"\n  version: "9.9.9"\n  imagee: "x"\n  phases: { schema: [] }\nschedule: nightly\n',
      '1.0/release.yaml': 'release: "1.0"\nyanked: 3\n',
    });
    const error = await catalogError(dir);
    const file = shown(dir, 'catalog.yaml');
    expect(error.problems).toEqual([
      { file, path: 'schedule', message: 'unknown key (catalog.yaml holds only defaults)' },
      { file, path: 'defaults.release', message: 'not allowed under defaults: each release.yaml names its own' },
      { file, path: 'defaults.version', message: 'not allowed under defaults: each release.yaml names its own' },
      { file: shown(dir, '1.0/release.yaml'), path: 'yanked', message: 'expected true or false' },
      { file, path: 'defaults.imagee', message: 'unknown key' },
    ]);
  });

  it('a catalog.yaml that is not YAML is reported alone (the releases cannot be judged without it)', async () => {
    const dir = await tempCatalog({
      'catalog.yaml': 'defaults: { env: [\n',
      '1.0/release.yaml': 'release: "1.0"\n',
    });
    const error = await catalogError(dir);
    expect(error.problems.length).toBeGreaterThan(0);
    for (const problem of error.problems) {
      expect(problem).toMatchObject({ file: shown(dir, 'catalog.yaml'), path: '' });
      expect(problem.message).toMatch(/^not valid YAML: line \d+, column \d+/);
    }
  });

  it('an empty catalog.yaml or empty defaults change nothing but the digests', async () => {
    const manifest = 'release: "1.0"\nphases: { schema: [ { name: db, run: [migrate] } ] }\n';
    const plain = await loadCatalog(await tempCatalog({ '1.0/release.yaml': manifest }));
    const empty = await loadCatalog(await tempCatalog({ 'catalog.yaml': '', '1.0/release.yaml': manifest }));
    const emptyDefaults = await loadCatalog(
      await tempCatalog({ 'catalog.yaml': 'defaults: {}\n', '1.0/release.yaml': manifest }),
    );
    for (const catalog of [empty, emptyDefaults]) {
      expect(catalog.releases[0]?.phases).toEqual(plain.releases[0]?.phases);
      expect(catalog.releases[0]?.env).toEqual(plain.releases[0]?.env);
    }
  });

  it('manifest digests cover catalog.yaml: unchanged without one, new for every release when it changes', async () => {
    const dir = await tempCatalog({
      '1.0/release.yaml': 'release: "1.0"\nphases: { schema: [ { name: db, run: [migrate] } ] }\n',
      '1.1/release.yaml': 'release: "1.1"\nphases: { schema: [ { name: db, run: [migrate] } ] }\n',
    });
    const without = await loadCatalog(dir);
    // Without catalog.yaml, a release's digest is its release.yaml's, as saved plans recorded it.
    expect(without.releases[0]?.manifestDigest).toBe(sha256Digest(await readFile(join(dir, '1.0/release.yaml'))));

    await writeFile(join(dir, 'catalog.yaml'), 'defaults: { timeouts: { check: 2m } }\n');
    const withDefaults = await loadCatalog(dir);
    await writeFile(join(dir, 'catalog.yaml'), 'defaults: { timeouts: { check: 3m } }\n');
    const edited = await loadCatalog(dir);
    for (const [a, b] of [
      [without, withDefaults],
      [withDefaults, edited],
    ] as const) {
      expect(b.digest).not.toBe(a.digest);
      b.releases.forEach((release, i) => expect(release.manifestDigest).not.toBe(a.releases[i]?.manifestDigest));
    }
  });
});
