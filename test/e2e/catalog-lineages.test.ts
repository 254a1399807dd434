// Issue 11, items 3 and 5, through the built CLI: a catalog written with catalog.yaml defaults
// (releases of one or two lines each, the application's own URL variable), two lineages with an
// entry release (`upgradeFrom: none`) that no path may enter, and no images at all.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { dockerForTests } from '../helpers/docker.js';
import { CLI, ROOT } from './apply-helpers.js';

const FIXTURE = join(ROOT, 'test/fixtures/catalogs/lineages');
// `images list` asks the engine; skipped (with a printed reason) only where none answers and CI does not require one.
const docker = await dockerForTests('images list on a catalog without images');
let work: string;

/** The built CLI on `catalog`; leapfrog's own DATABASE_URL is set to prove phases never see it. */
function leapfrog(args: string[], catalog = FIXTURE) {
  return execa('node', [CLI, ...args, '--catalog', catalog], {
    cwd: ROOT,
    reject: false,
    env: { NO_COLOR: '1', CI: '1', DATABASE_URL: 'postgres://leapfrog-own-url.invalid/never' },
  });
}

/** A copy of the fixture a test may edit. */
async function catalogCopy(name: string): Promise<string> {
  const dir = join(work, name);
  await cp(FIXTURE, dir, { recursive: true });
  return dir;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'leapfrog-lineages-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('a catalog with catalog.yaml defaults and an entry release', () => {
  it('plan into an entry release is refused with exit 5: install fresh, copy the data, baseline', async () => {
    const into = await leapfrog(['plan', '--from', '1.1', '--to', '2.0']);
    expect(into.exitCode).toBe(5);
    expect(into.stderr).toContain(
      'no path from 1.1 to 2.0: 2.0 starts a new lineage: install it fresh, copy the data, baseline',
    );
    expect(into.stderr).toContain(`leapfrog baseline --release 2.0 --catalog ${FIXTURE}`);
    expect(into.stderr).not.toMatch(/widen|upgradeFrom/);

    const through = await leapfrog(['plan', '--from', '1.0', '--to', '2.1']);
    expect(through.exitCode).toBe(5);
    expect(through.stderr).toContain(
      '2.0 starts a new lineage: install it fresh, copy the data, baseline, then upgrade to 2.1',
    );
    expect(through.stderr).toContain('leapfrog plan --from 2.0 --to 2.1');

    const after = await leapfrog(['plan', '--from', '2.0', '--to', '2.1']);
    expect(after.exitCode, after.stderr).toBe(0);
  });

  it('releases shows the entry release and validate passes with it', async () => {
    const releases = await leapfrog(['releases']);
    expect(releases.exitCode, releases.stderr).toBe(0);
    expect(releases.stdout).toMatch(/2\.0\s+2\.0\.0\s+-\s+none \(entry\)\s+-\s+-/);
    const json = await leapfrog(['--output', 'json', 'releases']);
    const body = JSON.parse(json.stdout) as { releases: { release: string; upgradeFrom: string; entry: boolean }[] };
    expect(body.releases.find((r) => r.release === '2.0')).toMatchObject({ upgradeFrom: 'none', entry: true });

    const validate = await leapfrog(['validate', '--matrix']);
    expect(validate.exitCode, validate.stdout + validate.stderr).toBe(0);
    expect(validate.stdout).toContain('1.1 -> 2.1: new lineage at 2.0 (install it fresh, copy the data, baseline)');
    expect(validate.stdout).not.toContain('NO PATH');
  });

  it('runs a release whose phases come from the defaults, with the URL under databaseUrlEnv', async () => {
    await using db = await createTestDatabase('e2e_lineages');
    const url = ['--database-url', db.url];
    // baseline verifies with 1.0's check, which only catalog.yaml gives it.
    const baseline = await leapfrog(['baseline', '--release', '1.0', ...url]);
    expect(baseline.exitCode, baseline.stderr).toBe(0);
    const apply = await leapfrog(['apply', '--to', '1.1', '--no-backup', ...url]);
    expect(apply.exitCode, apply.stdout + apply.stderr).toBe(0);
    const phases = await db.query<{ release: string; phase: string; name: string; status: string }>(
      'SELECT release, phase, name, status FROM leapfrog.phases ORDER BY id',
    );
    expect(phases.filter((p) => p.phase === 'schema')).toEqual([
      { release: '1.1', phase: 'schema', name: 'migrate', status: 'succeeded' },
    ]);
    expect(await db.query('SELECT release FROM leapfrog.state')).toEqual([{ release: '1.1' }]);

    // The application's next lineage is not an upgrade: refused before anything runs.
    const across = await leapfrog(['apply', '--to', '2.1', '--no-backup', ...url]);
    expect(across.exitCode).toBe(5);
    expect(across.stderr).toContain('2.0 starts a new lineage');
    expect(await db.query('SELECT release FROM leapfrog.state')).toEqual([{ release: '1.1' }]);
  });

  it('a saved plan goes stale (exit 6) when a default in catalog.yaml changes; plans record image: null', async () => {
    const catalog = await catalogCopy('stale');
    await using db = await createTestDatabase('e2e_lineages_stale');
    expect(
      (await leapfrog(['baseline', '--release', '1.0', '--no-verify', '--database-url', db.url], catalog)).exitCode,
    ).toBe(0);
    const planFile = join(work, 'stale-plan.json');
    const planned = await leapfrog(['plan', '--from', '1.0', '--to', '1.1', '--out', planFile], catalog);
    expect(planned.exitCode, planned.stderr).toBe(0);
    const plan = JSON.parse(await readFile(planFile, 'utf8')) as { steps: { release: string; image: string | null }[] };
    expect(plan.steps).toEqual([expect.objectContaining({ release: '1.1', image: null })]);

    const file = join(catalog, 'catalog.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('timeouts: { check: 1m }', 'timeouts: { check: 2m }'));
    const stale = await leapfrog(['apply', '--plan', planFile, '--no-backup', '--database-url', db.url], catalog);
    expect(stale.exitCode, stale.stderr).toBe(6);
    expect(stale.stderr).toContain('the manifest of 1.1');
    expect(stale.stderr).toContain('changed since plan');
    expect(await db.query('SELECT * FROM leapfrog.runs')).toHaveLength(0);
  });

  it('a bad default is exit 2 naming catalog.yaml and the field', async () => {
    const catalog = await catalogCopy('bad-default');
    const file = join(catalog, 'catalog.yaml');
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace('timeouts: { check: 1m }', 'timeouts: { check: soon }'),
    );
    const result = await leapfrog(['releases'], catalog);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`${join(catalog, 'catalog.yaml')}: defaults.timeouts.check: expected a duration`);
  });

  it('images build skips releases without an image and refuses --release X without one (exit 2)', async () => {
    const refused = await leapfrog(['images', 'build', '--release', '2.0']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(
      `release 2.0 has no image, which \`leapfrog images build\` needs (${join('test/fixtures/catalogs/lineages/2.0/release.yaml')}: image)`,
    );
    const none = await leapfrog(['images', 'build']);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toContain('names an image: nothing to build');

    // One release with an image: the others are skipped, said before anything is built (the
    // missing kit bundle then stops the build, so no image is made here).
    const catalog = await catalogCopy('one-image');
    await writeFile(
      join(catalog, '2.0', 'release.yaml'),
      'release: "2.0"\nupgradeFrom: none\nimage: "leapfrog-test/lineage:2.0"\n',
    );
    const mixed = await leapfrog(['images', 'build', '--kit-bundle', join(work, 'no-such-kit.mjs')], catalog);
    expect(mixed.stderr).toContain('skipping 1.0, 1.1, 2.1: no image in their release.yaml');
    expect(mixed.exitCode).toBe(2);
  });

  it.skipIf(docker === null)('images list names the releases without an image instead of listing them', async () => {
    const list = await leapfrog(['images', 'list']);
    expect(list.exitCode, list.stderr).toBe(0);
    expect(list.stdout.split('\n')[0]).toBe(
      '0 of 0 release images present; no image named by 1.0, 1.1, 2.0, 2.1 (not listed)',
    );
    const json = await leapfrog(['--output', 'json', 'images', 'list']);
    expect(JSON.parse(json.stdout)).toEqual({
      type: 'summary',
      images: [],
      withoutImage: ['1.0', '1.1', '2.0', '2.1'],
    });
  });
});
