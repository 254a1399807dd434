import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BadInputError } from '../errors/index.js';
import { packageRoot } from '../util/package-root.js';
import { nextCommand } from '../util/next-command.js';

/** Where `npm run build` writes the bundled release kit. */
export function defaultKitBundlePath(): string {
  return join(packageRoot(), 'dist', 'kit', 'leapfrog-kit.mjs');
}

/** The kit bundle every release image carries; a missing one means the build was not run. */
export function requireKitBundle(path: string = defaultKitBundlePath()): string {
  if (!existsSync(path)) {
    throw new BadInputError(`the release kit bundle ${path} does not exist, so no release image can be built`, {
      hint: `run \`npm run build\` (it bundles src/kit into dist/kit/leapfrog-kit.mjs), then \`${nextCommand('images build')}\` again`,
      details: { kitBundle: path },
    });
  }
  return path;
}
