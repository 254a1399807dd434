import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { packageRoot } from '../util/package-root.js';

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
