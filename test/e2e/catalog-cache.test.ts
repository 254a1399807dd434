// The catalog cache as the built CLI uses it: a hit runs neither yaml nor zod (their modules are
// never initialised), prints what a miss prints, and an edited manifest is reported exactly as
// without a cache. The packages whose code ran are read from V8's coverage of each run.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packagesThatRan } from '../helpers/bundled-packages.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const BUNDLE = join(ROOT, 'dist/cli/leapfrog.cjs');

let work: string;
let catalog: string;
let runs = 0;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'leapfrog-e2e-cache-'));
  catalog = join(work, 'catalog');
  await cp(join(ROOT, 'test/fixtures/catalogs/slurp'), catalog, { recursive: true });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function plan(cacheDir: string) {
  const coverage = join(work, `coverage-${(runs += 1)}`);
  const result = await execa('node', [CLI, 'plan', '--catalog', catalog, '--from', '2023.1', '--to', '2025.1'], {
    cwd: ROOT,
    reject: false,
    env: { LEAPFROG_CACHE_DIR: cacheDir, NODE_V8_COVERAGE: coverage },
  });
  const packages = (await packagesThatRan(coverage, BUNDLE)).filter((name) => name === 'zod' || name === 'yaml');
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, packages };
}

describe('the catalog cache of the built CLI', () => {
  it('a hit runs neither yaml nor zod and prints what a miss prints', async () => {
    const cacheDir = join(work, 'cache');
    const miss = await plan(cacheDir);
    expect(miss.exitCode).toBe(0);
    expect(miss.packages).toEqual(['yaml', 'zod']);
    const hit = await plan(cacheDir);
    expect(hit.exitCode).toBe(0);
    expect(hit.packages).toEqual([]);
    expect(hit.stdout).toBe(miss.stdout);
    const off = await plan('off');
    expect(off.stdout).toBe(miss.stdout);
  });

  it('an edited manifest is validated again and its problem reported as without a cache', async () => {
    const cacheDir = join(work, 'cache');
    await plan(cacheDir);
    const file = join(catalog, '2024.1', 'release.yaml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('milestone: true', 'milestone: true\nowner: me'));
    const cached = await plan(cacheDir);
    const plain = await plan('off');
    expect(cached.packages).toEqual(['yaml', 'zod']);
    expect(cached.exitCode).toBe(2);
    expect(cached.stderr).toContain('2024.1/release.yaml: owner: unknown key');
    expect(cached.stderr).toBe(plain.stderr);
    expect(cached.exitCode).toBe(plain.exitCode);
  });
});
