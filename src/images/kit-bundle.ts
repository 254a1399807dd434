import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BadInputError } from '../errors/index.js';

/**
 * Where `npm run build` writes the bundled release kit. This module sits two folders below the
 * package root both as source (src/images) and built (dist/images), so one relative URL serves both.
 */
export function defaultKitBundlePath(): string {
  return fileURLToPath(new URL('../../dist/kit/leapfrog-kit.mjs', import.meta.url));
}

/** The kit bundle every release image carries; a missing one means the build was not run. */
export function requireKitBundle(path: string = defaultKitBundlePath()): string {
  if (!existsSync(path)) {
    throw new BadInputError(`the release kit bundle ${path} does not exist, so no release image can be built`, {
      hint: 'run `npm run build` (it bundles src/kit into dist/kit/leapfrog-kit.mjs), then `leapfrog images build` again',
      details: { kitBundle: path },
    });
  }
  return path;
}
