// The catalog cache as the built CLI uses it: a hit loads neither yaml nor zod (their chunk is
// never loaded), prints what a miss prints, and an edited manifest is reported exactly as
// without a cache. The modules each run loads are listed by a resolve hook (--import).
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const HOOK = `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(
  'export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.startsWith("file:")) process._rawDebug("LOADED " + r.url); return r; }'));
`;

let work: string;
let hook: string;
let catalog: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'leapfrog-e2e-cache-'));
  hook = join(work, 'list-modules.mjs');
  await writeFile(hook, HOOK);
  catalog = join(work, 'catalog');
  await cp(join(ROOT, 'test/fixtures/catalogs/slurp'), catalog, { recursive: true });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function plan(cacheDir: string) {
  const result = await execa(
    'node',
    ['--import', hook, CLI, 'plan', '--catalog', catalog, '--from', '2023.1', '--to', '2025.1'],
    { cwd: ROOT, reject: false, env: { LEAPFROG_CACHE_DIR: cacheDir } },
  );
  const loaded = result.stderr.split('\n').filter((line) => line.startsWith('LOADED '));
  const stderr = result.stderr
    .split('\n')
    .filter((line) => !line.startsWith('LOADED '))
    .join('\n');
  // esbuild marks each bundled module with a `// …node_modules/<package>/…` comment.
  const packages = new Set<string>();
  for (const line of loaded) {
    const text = await readFile(new URL(line.slice('LOADED '.length)), 'utf8');
    for (const match of text.matchAll(/^\/\/ .*node_modules\/(zod|yaml)\//gm)) packages.add(match[1] as string);
  }
  return { exitCode: result.exitCode, stdout: result.stdout, stderr, packages: [...packages].sort() };
}

describe('the catalog cache of the built CLI', () => {
  it('a hit imports neither yaml nor zod and prints what a miss prints', async () => {
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
