import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/**
 * The folder holding leapfrog's package.json, found by walking up from the running module. The
 * code runs from src/ (tests, tsx), from dist/cli/ (the bundled CLI) and from dist/cli/chunks/
 * (lazily loaded verbs), so no fixed relative path serves them all.
 */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('leapfrog: package.json not found above the running module');
    dir = parent;
  }
  cached = dir;
  return dir;
}
