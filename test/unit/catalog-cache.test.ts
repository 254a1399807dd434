import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { cacheDirectory } from '../../src/util/cache-directory.js';
import { CatalogError } from '../../src/catalog/catalog-error.js';
import { loadCatalog } from '../../src/catalog/load-catalog.js';
import * as validation from '../../src/catalog/validate-manifest.js';

// Counts the miss path: on a hit the manifests are neither parsed (yaml) nor validated (zod).
vi.mock('../../src/catalog/validate-manifest.js', async (importOriginal) => {
  const actual = await importOriginal<typeof validation>();
  return {
    ...actual,
    validateManifest: vi.fn(actual.validateManifest),
    parseCatalogFile: vi.fn(actual.parseCatalogFile),
  };
});
const validated = vi.mocked(validation.validateManifest);
const catalogFileParsed = vi.mocked(validation.parseCatalogFile);

const FIXTURE = join(import.meta.dirname, '../fixtures/catalogs/slurp');
const temporary: string[] = [];

async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temporary.push(dir);
  return dir;
}

/** A copy of the SLURP fixture that a test may edit. */
async function catalogCopy(): Promise<string> {
  const dir = await tempDir('leapfrog-cached-catalog-');
  await cp(FIXTURE, dir, { recursive: true });
  return dir;
}

async function cacheFiles(cacheDir: string): Promise<string[]> {
  const entries = await readdir(join(cacheDir, 'catalog-v1')).catch(() => []);
  return entries.map((name) => join(cacheDir, 'catalog-v1', name));
}

/** The catalog as loaded without any cache: what every cached load must equal. */
async function uncached(dir: string) {
  vi.stubEnv('LEAPFROG_CACHE_DIR', 'off');
  try {
    return await loadCatalog(dir);
  } finally {
    vi.stubEnv('LEAPFROG_CACHE_DIR', cacheDir);
  }
}

let cacheDir: string;
beforeEach(async () => {
  cacheDir = await tempDir('leapfrog-cache-');
  vi.stubEnv('LEAPFROG_CACHE_DIR', cacheDir);
  validated.mockClear();
  catalogFileParsed.mockClear();
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await Promise.all(temporary.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('the catalog cache', () => {
  it('validates every manifest on a miss and writes one cache file outside the catalog', async () => {
    const dir = await catalogCopy();
    const catalog = await loadCatalog(dir);
    expect(validated).toHaveBeenCalledTimes(5);
    expect(await cacheFiles(cacheDir)).toHaveLength(1);
    expect(catalog).toEqual(await uncached(dir));
  });

  it('on a hit neither parses nor validates, and returns the same catalog', async () => {
    const dir = await catalogCopy();
    const first = await loadCatalog(dir);
    expect(validated).toHaveBeenCalledTimes(5);
    validated.mockClear();
    const second = await loadCatalog(dir);
    expect(validated).not.toHaveBeenCalled();
    expect(second).toEqual(first);
    expect(second).toEqual(await uncached(dir));
  });

  it('validates a changed manifest again and reports its problem exactly as without a cache', async () => {
    const dir = await catalogCopy();
    await loadCatalog(dir);
    const file = join(dir, '2024.2', 'release.yaml');
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace('release: "2024.2"', 'release: "2024.2"\nupgradeform: "2024.1.0"'),
    );
    validated.mockClear();
    const cachedError = await loadCatalog(dir).catch((e: unknown) => e);
    expect(validated).toHaveBeenCalledTimes(1);
    expect(cachedError).toBeInstanceOf(CatalogError);
    expect((cachedError as CatalogError).problems).toEqual([
      expect.objectContaining({ path: 'upgradeform', message: 'unknown key' }),
    ]);
    const plainError = await uncached(dir).catch((e: unknown) => e);
    expect((cachedError as CatalogError).message).toBe((plainError as CatalogError).message);
    expect((cachedError as CatalogError).problems).toEqual((plainError as CatalogError).problems);
  });

  it('picks up a valid edit: the new manifest, not the cached one', async () => {
    const dir = await catalogCopy();
    const before = await loadCatalog(dir);
    const file = join(dir, '2023.2', 'release.yaml');
    await writeFile(file, `${await readFile(file, 'utf8')}\nenv: { EDITED: "yes" }\n`);
    validated.mockClear();
    const after = await loadCatalog(dir);
    expect(validated).toHaveBeenCalledTimes(1);
    expect(after.releases.find((r) => r.id === '2023.2')?.env).toEqual({ EDITED: 'yes' });
    expect(after.digest).not.toBe(before.digest);
    expect(after).toEqual(await uncached(dir));
  });

  it("keys on catalog.yaml's bytes too: a changed default is a miss for every release", async () => {
    const dir = await catalogCopy();
    await writeFile(join(dir, 'catalog.yaml'), 'defaults:\n  env: { FROM_DEFAULTS: "one" }\n');
    const before = await loadCatalog(dir);
    expect(validated).toHaveBeenCalledTimes(5);
    expect(catalogFileParsed).toHaveBeenCalledTimes(1); // once, not once per release
    validated.mockClear();
    catalogFileParsed.mockClear();
    expect(await loadCatalog(dir)).toEqual(before);
    expect(validated).not.toHaveBeenCalled();
    expect(catalogFileParsed).not.toHaveBeenCalled();

    await writeFile(join(dir, 'catalog.yaml'), 'defaults:\n  env: { FROM_DEFAULTS: "two" }\n');
    const after = await loadCatalog(dir);
    expect(validated).toHaveBeenCalledTimes(5);
    expect(after.releases.map((r) => r.env['FROM_DEFAULTS'])).toEqual(['two', 'two', 'two', 'two', 'two']);
    expect(after.releases.map((r) => r.manifestDigest)).not.toEqual(before.releases.map((r) => r.manifestDigest));
    expect(after).toEqual(await uncached(dir));
  });

  it('never hides a catalog.yaml problem behind cached releases', async () => {
    const dir = await catalogCopy();
    await writeFile(join(dir, 'catalog.yaml'), 'defaults: { env: { A: "1" } }\nextra: true\n');
    const first = await loadCatalog(dir).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(CatalogError);
    validated.mockClear();
    const second = await loadCatalog(dir).catch((e: unknown) => e);
    expect(second).toBeInstanceOf(CatalogError);
    expect((second as CatalogError).problems).toEqual((first as CatalogError).problems);
    expect((second as CatalogError).problems).toEqual([expect.objectContaining({ path: 'extra' })]);
  });

  it('ignores a damaged cache file, validates in full and rewrites it', async () => {
    const dir = await catalogCopy();
    await loadCatalog(dir);
    const [file] = await cacheFiles(cacheDir);
    const text = await readFile(file as string, 'utf8');
    // Valid JSON whose content no longer matches its checksum: a manifest made "valid" by hand.
    await writeFile(file as string, text.replace('"milestone":true', '"milestone":false'));
    validated.mockClear();
    let loaded = await loadCatalog(dir);
    expect(validated).toHaveBeenCalledTimes(5);
    expect(loaded).toEqual(await uncached(dir));

    await writeFile(file as string, text.slice(0, text.length / 2)); // truncated
    validated.mockClear();
    loaded = await loadCatalog(dir);
    expect(validated).toHaveBeenCalledTimes(5);
    expect(loaded).toEqual(await uncached(dir));
    expect(await readFile(file as string, 'utf8')).toBe(text);

    await writeFile(file as string, 'not a cache file');
    validated.mockClear();
    loaded = await loadCatalog(dir);
    expect(validated).toHaveBeenCalledTimes(5);
    expect(loaded).toEqual(await uncached(dir));
  });

  it('works without a cache when the cache directory cannot be created', async () => {
    const dir = await catalogCopy();
    // Below a regular file: mkdir fails even for root, which ignores permission bits.
    const blocker = join(await tempDir('leapfrog-cache-blocked-'), 'a-file');
    await writeFile(blocker, '');
    vi.stubEnv('LEAPFROG_CACHE_DIR', join(blocker, 'cache'));
    const first = await loadCatalog(dir);
    const second = await loadCatalog(dir);
    expect(validated).toHaveBeenCalledTimes(10);
    expect(second).toEqual(first);
    vi.stubEnv('LEAPFROG_CACHE_DIR', 'off');
    expect(second).toEqual(await loadCatalog(dir));
  });

  it('never caches a manifest with problems', async () => {
    const dir = await catalogCopy();
    await writeFile(join(dir, '2025.1', 'release.yaml'), 'release: 2025.1\n');
    await loadCatalog(dir).catch(() => undefined);
    validated.mockClear();
    const error = await loadCatalog(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CatalogError);
    // Only the broken manifest is validated again; the four good ones come from the cache.
    expect(validated).toHaveBeenCalledTimes(1);
  });
});

describe('cacheDirectory', () => {
  it('prefers LEAPFROG_CACHE_DIR, which may turn the cache off', () => {
    expect(cacheDirectory({ LEAPFROG_CACHE_DIR: '/tmp/lf-cache' }, undefined)).toBe('/tmp/lf-cache');
    expect(cacheDirectory({ LEAPFROG_CACHE_DIR: 'off', XDG_CACHE_HOME: '/x' }, 'build')).toBeUndefined();
    expect(cacheDirectory({ LEAPFROG_CACHE_DIR: '' }, 'build')).toBeUndefined();
  });

  it('uses $XDG_CACHE_HOME/leapfrog, then $HOME/.cache/leapfrog, for a built leapfrog', () => {
    expect(cacheDirectory({ XDG_CACHE_HOME: '/var/cache/me', HOME: '/home/me' }, 'build')).toBe(
      '/var/cache/me/leapfrog',
    );
    expect(cacheDirectory({ XDG_CACHE_HOME: 'relative', HOME: '/home/me' }, 'build')).toBe('/home/me/.cache/leapfrog');
    expect(cacheDirectory({ HOME: '/home/me' }, 'build')).toBe('/home/me/.cache/leapfrog');
  });

  it('has none in a cleared environment (cron, tests that start the CLI with extendEnv: false)', () => {
    expect(cacheDirectory({}, 'build')).toBeUndefined();
  });

  it('has no default when running from source, where a schema edit would not change the key', () => {
    expect(cacheDirectory({ XDG_CACHE_HOME: '/var/cache/me' }, undefined)).toBeUndefined();
  });
});
