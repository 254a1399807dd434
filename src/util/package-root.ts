import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The folder holding leapfrog's package.json, found by walking up from the running module. The
 * code runs from src/ (tests, tsx) and from dist/cli/ (the bundled CLI), so no fixed relative
 * path serves both. dist/cli/package.json only says its files are CommonJS: a package.json
 * without a name is not the package's.
 */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!namedPackageIn(dir)) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('leapfrog: package.json not found above the running module');
    dir = parent;
  }
  cached = dir;
  return dir;
}

function namedPackageIn(dir: string): boolean {
  try {
    const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown };
    return typeof json.name === 'string';
  } catch {
    return false; // no package.json here (or not JSON): look further up
  }
}
