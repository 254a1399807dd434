// `npm run bench [-- name…]`: runs every test/bench/*.bench.ts (or those whose names contain
// one of the arguments) one after another in its own process, so one benchmark's heap and
// servers never skew the next. Each prints its own figures and ratios.
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${filters.join(', ')}`);
  process.exit(2);
}
for (const file of files) {
  console.log(`\n### ${file}`);
  execFileSync(process.execPath, ['--import', 'tsx', join(here, file)], { stdio: 'inherit' });
}
