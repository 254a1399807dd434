// The compile cache of the built CLI (src/cli/bin.ts): the first successful call of a verb writes
// V8's code for it (and for each vendor bundle it loaded), later calls use it and print exactly
// the same, a failed call writes nothing, a damaged or foreign file is never used, and files of
// other builds are removed.
import { chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const PLAN = ['plan', '--from', '2023.1', '--to', '2025.1'];

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'leapfrog-e2e-compile-cache-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function leapfrog(cacheDir: string, args: readonly string[]) {
  return execa('node', [CLI, '--verbose', ...args], {
    cwd: ROOT,
    reject: false,
    env: { LEAPFROG_CACHE_DIR: cacheDir, LEAPFROG_DEBUG: '' },
  });
}

/** The `cli: compile cache …` debug line of a call. */
function cacheLine(stderr: string): string {
  return stderr.split('\n').find((line) => line.includes('cli: compile cache')) ?? '(no compile cache line)';
}

async function compileFiles(cacheDir: string): Promise<string[]> {
  return (await readdir(join(cacheDir, 'compile')).catch(() => [] as string[])).sort();
}

describe('the compile cache of the built CLI', () => {
  it('is written by the first successful call of a verb, used by the next, with the same output', async () => {
    const cacheDir = join(work, 'first');
    const first = await leapfrog(cacheDir, PLAN);
    expect(first.exitCode).toBe(0);
    expect(cacheLine(first.stderr)).toContain('compile cache absent');
    // The CLI's own file, and one per vendor bundle this call loaded: a first call validates the
    // catalog's manifests (yaml, zod); later calls take them from the catalog cache.
    const files = await compileFiles(cacheDir);
    expect(files).toHaveLength(3);
    const [main, yaml, zod] = files;
    expect(main).toMatch(/-v\d+\.\d+\.\d+-[a-z0-9]+\.plan\.bin$/);
    expect(yaml).toBe(main?.replace(/\.bin$/, '.yaml.bin'));
    expect(zod).toBe(main?.replace(/\.bin$/, '.zod.bin'));
    // Only this user may read or replace code that leapfrog will run.
    expect((await stat(join(cacheDir, 'compile'))).mode & 0o777).toBe(0o700);
    for (const file of files) expect((await stat(join(cacheDir, 'compile', file ?? ''))).mode & 0o777).toBe(0o600);

    const second = await leapfrog(cacheDir, PLAN);
    expect(second.exitCode).toBe(0);
    expect(cacheLine(second.stderr)).toContain(`compile cache used: ${join(cacheDir, 'compile', main ?? '')}`);
    expect(second.stderr).not.toContain('zod: compile cache');
    expect(second.stdout).toBe(first.stdout);
    const off = await leapfrog('off', PLAN);
    expect(cacheLine(off.stderr)).toContain('compile cache off');
    expect(off.stdout).toBe(first.stdout);
  });

  it('a vendor bundle loaded again (a catalog cache miss) is compiled from its own file', async () => {
    const cacheDir = join(work, 'vendor');
    expect((await leapfrog(cacheDir, PLAN)).exitCode).toBe(0);
    const before = await compileFiles(cacheDir);
    await rm(join(cacheDir, 'catalog-v1'), { recursive: true });
    const miss = await leapfrog(cacheDir, PLAN);
    expect(miss.exitCode).toBe(0);
    expect(miss.stderr).toContain(`yaml: compile cache used: ${join(cacheDir, 'compile', before[1] ?? '')}`);
    expect(miss.stderr).toContain(`zod: compile cache used: ${join(cacheDir, 'compile', before[2] ?? '')}`);
    expect(miss.stdout).toContain('2 steps, 2023.1 -> 2024.1 -> 2025.1');
    expect(await compileFiles(cacheDir)).toEqual(before);
  });

  it('the CLI bundle holds none of the vendor packages; each vendor bundle holds its own', async () => {
    const sourcesOf = async (file: string) =>
      (JSON.parse(await readFile(`${file}.map`, 'utf8')) as { sources: string[] }).sources;
    const inCli = await sourcesOf(join(ROOT, 'dist/cli/leapfrog.cjs'));
    expect(inCli.some((source) => source.includes('node_modules/pg/'))).toBe(true);
    for (const name of ['zod', 'yaml', 'execa']) {
      expect(inCli.filter((source) => source.includes(`node_modules/${name}/`))).toEqual([]);
      const inVendor = await sourcesOf(join(ROOT, 'dist/cli/vendor', `${name}.cjs`));
      expect(inVendor.some((source) => source.includes(`node_modules/${name}/`))).toBe(true);
    }
  });

  it('a failed call and a help page write nothing; another verb gets its own file', async () => {
    const cacheDir = join(work, 'failed');
    const failed = await leapfrog(cacheDir, ['plan', '--from', '2023.1', '--to', 'no-such-release']);
    expect(failed.exitCode).not.toBe(0);
    // Help compiles next to nothing of `plan`: as its cache it would stay, never rewritten.
    const help = await leapfrog(cacheDir, ['plan', '--help']);
    expect(help.exitCode).toBe(0);
    expect(await compileFiles(cacheDir)).toEqual([]);
    expect((await leapfrog(cacheDir, ['releases'])).exitCode).toBe(0);
    expect((await leapfrog(cacheDir, PLAN)).exitCode).toBe(0);
    // Each verb's own file(s): `<key>.<verb>.bin`, and `<key>.<verb>.<package>.bin` for what it loaded.
    const verbs = new Set((await compileFiles(cacheDir)).map((f) => /\.([a-z-]+)(?:\.[a-z]+)?\.bin$/.exec(f)?.[1]));
    expect([...verbs]).toEqual(['plan', 'releases']);
  });

  it('a damaged file is rejected by V8 and rewritten; files of other builds are removed', async () => {
    const cacheDir = join(work, 'damaged');
    expect((await leapfrog(cacheDir, PLAN)).exitCode).toBe(0);
    const file = (await compileFiles(cacheDir)).find((f) => f.endsWith('.plan.bin'));
    const path = join(cacheDir, 'compile', file ?? '');
    const good = await readFile(path);
    await writeFile(path, Buffer.alloc(good.length, 7));
    const stale = join(cacheDir, 'compile', '0.0.1+0000000000000000-v20.0.0-x64.plan.bin');
    await writeFile(stale, 'from an older leapfrog');

    const rejected = await leapfrog(cacheDir, PLAN);
    expect(rejected.exitCode).toBe(0);
    expect(cacheLine(rejected.stderr)).toContain('compile cache rejected by V8');
    expect(rejected.stdout).toContain('2 steps, 2023.1 -> 2024.1 -> 2025.1');
    expect((await compileFiles(cacheDir)).filter((f) => f.endsWith('.plan.bin'))).toEqual([file]);
    expect(await compileFiles(cacheDir)).not.toContain('0.0.1+0000000000000000-v20.0.0-x64.plan.bin');
    expect((await readFile(path)).equals(Buffer.alloc(good.length, 7))).toBe(false);
    expect(cacheLine((await leapfrog(cacheDir, PLAN)).stderr)).toContain('compile cache used');
  });

  // Giving a file to another user takes root (CI and this project's dev VM run as root); as any
  // other user the test cannot set the scene, and says so in its name.
  it.runIf(process.getuid?.() === 0)('a file owned by another user is never used (runs as root only)', async () => {
    const cacheDir = join(work, 'foreign');
    expect((await leapfrog(cacheDir, PLAN)).exitCode).toBe(0);
    const file = (await compileFiles(cacheDir)).find((f) => f.endsWith('.plan.bin'));
    await chown(join(cacheDir, 'compile', file ?? ''), 65534, 65534);
    const call = await leapfrog(cacheDir, PLAN);
    expect(call.exitCode).toBe(0);
    expect(cacheLine(call.stderr)).toContain('compile cache absent');
    // Rewritten as this user's own file.
    expect((await stat(join(cacheDir, 'compile', file ?? ''))).uid).toBe(0);
  });

  it('a cache folder that cannot be written leaves the call as it was', async () => {
    const blocker = join(work, 'blocked');
    await mkdir(blocker, { recursive: true });
    await writeFile(join(blocker, 'compile'), 'a file where the folder should be');
    const call = await leapfrog(blocker, PLAN);
    expect(call.exitCode).toBe(0);
    expect(call.stdout).toContain('2 steps, 2023.1 -> 2024.1 -> 2025.1');
    expect(call.stderr).toContain('leapfrog:compile-cache could not save');
  });
});
