import { logger } from '../util/logger.js';
import { vendorFromBin } from './compile-cache-report.js';

/**
 * A package kept out of the CLI bundle (zod, yaml, execa; scripts/bundle-cli.mjs says why): every
 * `import … from 'zod'` in the bundle lands here, and the bin hands over the package, compiled
 * through its code cache. Source runs (tests, tsx) import the packages from node_modules and never
 * come here; the bundle itself runs only through the bin (it is a script of its own CommonJS
 * wrapper, which `require` would define without calling).
 */
export function loadVendor(name: string): unknown {
  const load = vendorFromBin(name);
  if (load === undefined) {
    throw new Error(`leapfrog: the CLI bundle runs only through its bin, dist/cli/main.js (${name} is loaded by it)`);
  }
  logger('cli').debug(load.line);
  return load.exports;
}
