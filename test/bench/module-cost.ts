// What `leapfrog plan` pays before and while it works, piece by piece (issue 10): in fresh
// processes (CPU time of the process, all threads), the built dist/cli chunks that plan loads are imported one at a time in dependency
// order (each figure is that chunk's own compile + evaluate, zod's schema construction included
// in the manifest-schema chunk), then the work itself is timed: yaml parsing and zod validation
// of the demo manifests (first call, which pays V8's lazy compilation and zod's JIT, and a
// second call), loadCatalog twice (apply --to loads it twice today) and planPath.
// Not a *.bench.ts (npm run bench does not run it): `node --import tsx test/bench/module-cost.ts`
// after `npm run build`. MODULE_COST_RUNS (default 9) fresh processes; medians.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fmt, median } from './stats.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CHUNKS = join(ROOT, 'dist/cli/chunks');
const RUNS = Number(process.env['MODULE_COST_RUNS'] ?? 9);

/** A chunk's name for people: the package it bundles, or its leapfrog source files. */
function labelOf(file: string): string {
  const { sources } = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources: string[] };
  const names = new Set(
    sources.map((s) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(s)?.[1] ?? s.replace(/^(\.\.\/)+/, '')),
  );
  const list = [...names].filter((n) => !n.startsWith('empty:'));
  return list.length === 0
    ? '(esbuild runtime helpers)'
    : list.length > 3
      ? `${list.slice(0, 3).join(', ')} +${list.length - 3}`
      : list.join(', ');
}

// The chunks `plan` needs, as imported from dist/cli/main.js: every chunk reachable from the
// modules that hold parseManifest, loadCatalog and planPath, plus main's own static imports.
const imports = (file: string) =>
  [
    ...readFileSync(file, 'utf8').matchAll(
      /from "\.\/(?:chunks\/)?(chunk-[A-Z0-9]+\.js)"|^import "\.\/(?:chunks\/)?(chunk-[A-Z0-9]+\.js)"/gm,
    ),
  ].map((m) => join(CHUNKS, m[1] ?? m[2] ?? ''));
const chunkWith = (name: string) =>
  readdirSync(CHUNKS)
    .map((f) => join(CHUNKS, f))
    .find(
      (f) =>
        f.endsWith('.js') &&
        /^chunk-/.test(f.split('/').at(-1) ?? '') &&
        new RegExp(`^export \\{[^}]*\\b${name}\\b`, 'm').test(readFileSync(f, 'utf8')),
    );
const wanted = ['loadCatalog', 'planPath', 'parseManifest'].map((n) => {
  const f = chunkWith(n);
  if (f === undefined) throw new Error(`no chunk exports ${n}; run npm run build`);
  return f;
});
const order: string[] = [];
const visit = (file: string) => {
  if (order.includes(file)) return;
  for (const dep of imports(file)) visit(dep);
  order.push(file);
};
for (const f of [...imports(join(ROOT, 'dist/cli/main.js')), ...wanted]) visit(f);
const [loadCatalogChunk, planPathChunk, schemaChunk] = wanted as [string, string, string];

const yamlChunk = order.find((f) => labelOf(f) === 'yaml');
const CHILD = `
const urls = ${JSON.stringify(order.map((f) => pathToFileURL(f).href))};
const out = {};
// CPU time (all threads, user + system) rather than wall: the machine may be shared.
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
let t = cpu();
const lap = (key) => { const now = cpu(); out[key] = now - t; t = now; };
for (const url of urls) { await import(url); lap(url); }
const { readFileSync, readdirSync } = await import('node:fs');
const { parseDocument } = await import(${JSON.stringify(pathToFileURL(yamlChunk ?? '').href)}).then((m) => Object.values(m).find((v) => typeof v === 'function')());
const { parseManifest } = await import(${JSON.stringify(pathToFileURL(schemaChunk).href)});
const { loadCatalog } = await import(${JSON.stringify(pathToFileURL(loadCatalogChunk).href)});
const { planPath } = await import(${JSON.stringify(pathToFileURL(planPathChunk).href)});
const dir = ${JSON.stringify(join(ROOT, 'release-images'))};
const texts = readdirSync(dir).sort().map((d) => readFileSync(dir + '/' + d + '/release.yaml', 'utf8'));
t = cpu();
let objects = texts.map((x) => parseDocument(x, { prettyErrors: false, uniqueKeys: true }).toJS()); lap('yaml parseDocument, 5 manifests, first');
objects = texts.map((x) => parseDocument(x, { prettyErrors: false, uniqueKeys: true }).toJS()); lap('yaml parseDocument, 5 manifests, again');
for (const o of objects) parseManifest(o); lap('zod safeParse, 5 manifests, first');
for (const o of objects) parseManifest(o); lap('zod safeParse, 5 manifests, again');
const catalog = await loadCatalog(dir); lap('loadCatalog (after the above)');
await loadCatalog(dir); lap('loadCatalog, again');
planPath(catalog, '2023.1', '2025.1'); lap('planPath 2023.1 -> 2025.1');
process.stdout.write(JSON.stringify(out));
`;

const series = new Map<string, number[]>();
for (let run = 0; run < RUNS; run += 1) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  for (const [key, ms] of Object.entries(JSON.parse(r.stdout) as Record<string, number>))
    series.set(key, [...(series.get(key) ?? []), ms]);
}
const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`plan's modules and work, CPU ms, ${RUNS} fresh processes, medians (load average ${loadavg}):`);
let modules = 0;
for (const [key, values] of series) {
  const ms = median(values);
  const isChunk = key.startsWith('file:');
  if (isChunk) modules += ms;
  const file = isChunk ? join(CHUNKS, key.split('/').at(-1) ?? '') : '';
  const size = isChunk ? `${(readFileSync(file).length / 1024).toFixed(0).padStart(4)} KB  ` : '';
  console.log(`  ${fmt(ms).padStart(9)}  ${size}${isChunk ? `import ${labelOf(file)}` : key}`);
}
console.log(`  ${fmt(modules).padStart(9)}  all chunks (sum of medians)`);
