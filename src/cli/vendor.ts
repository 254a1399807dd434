import { logger } from '../util/logger.js';
import { vendorFromBin } from './compile-cache-report.js';

/**
 * A package kept out of the CLI bundle (zod, yaml, execa; scripts/bundle-cli.mjs says why): every
 * `import … from 'zod'` in the bundle lands here. Started by the bin, the package comes compiled
 * through the bin's code cache; otherwise (the bundle required on its own) `plain` requires its
 * file. Source runs (tests, tsx) import the packages from node_modules and never come here.
 */
export function loadVendor(name: string, plain: () => unknown): unknown {
  const load = vendorFromBin(name);
  if (load === undefined) return plain();
  logger('cli').debug(load.line);
  return load.exports;
}
