import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root, found from this file whether it runs from src/ (tsx, tests) or dist/ (the
 * built CLI): the demo must work from any working directory on a fresh clone.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('leapfrog: package.json not found above the demo module');
    dir = parent;
  }
  return dir;
}

/** The demo releases shipped with leapfrog. */
export function defaultCatalogDir(): string {
  return resolve(packageRoot(), 'release-images');
}

/**
 * `--catalog` defaults to `release-images`, relative to the working directory like every verb;
 * the demo falls back to the releases shipped with leapfrog when run from elsewhere.
 */
export function resolveCatalogDir(flag: string): string {
  const given = resolve(flag);
  if (existsSync(given) || flag !== 'release-images') return given;
  return defaultCatalogDir();
}
