import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The catalog cache of a test run (src/catalog/catalog-cache.ts) lives in a temporary folder that
 * is removed afterwards: the built CLI run by e2e tests would otherwise write to the operator's
 * ~/.cache/leapfrog, and tests leave nothing behind. Test files inherit it through the
 * environment, and so do the processes they start.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'leapfrog-test-cache-'));
  process.env['LEAPFROG_CACHE_DIR'] = dir;
  return () => rm(dir, { recursive: true, force: true });
}
