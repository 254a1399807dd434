// Where one CLI call spends its time (issue 10): runs the built CLI under `node --cpu-prof` a few
// times and maps every sample through dist/cli's source maps back to a package (zod, yaml,
// commander, semver, pg…) or a leapfrog source folder, plus Node's own categories: module
// compilation shows as "(program)" and node:internal frames, garbage collection as "(garbage
// collector)", waiting (database round trips, child processes) as "(idle)".
// Not a *.bench.ts (npm run bench does not run it):
//   node --import tsx test/bench/profile-cli.ts plan      # plan on the demo catalog
//   node --import tsx test/bench/profile-cli.ts apply     # apply --no-backup, noop catalog
// PROFILE_RUNS (default 5) runs are averaged. Also prints the wall-clock window in which the
// named functions of the apply path were on the stack (first to last sample).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedServer, type EmbeddedServer } from '../../src/pg/embedded-server.js';
import { adminOf, templateCopier } from './bench-server.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const NOOP = join(ROOT, 'test/fixtures/catalogs/noop');
const RUNS = Number(process.env['PROFILE_RUNS'] ?? 5);
const which = process.argv[2] ?? 'plan';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
}

// Functions of the apply path whose wall-clock window is worth seeing (names as bundled).
const MARKS = [
  'registerVerbs',
  'parseAsync',
  'runVerb',
  'safetyExtension',
  'requestedTarget',
  'loadCatalog',
  'assertForwardOnly',
  'readBaseline',
  'acquireLedgerLock',
  'openPostgresLedger',
  'migrateLedger',
  'closeAbandonedRuns',
  'planPath',
  'createExecutor',
  'createRenderer',
  'runPlan',
  'connectClient',
  'buildCatalog',
  'parseDocument',
  'safeParse',
  'verifyPlanImages',
  'preparePreUpgradeBackup',
];

const maps = new Map<string, SourceMap | null>();
function sourceMapOf(url: string): SourceMap | null {
  let map = maps.get(url);
  if (map === undefined) {
    try {
      map = new SourceMap(
        JSON.parse(
          readFileSync(`${url.startsWith('file:') ? fileURLToPath(url) : url}.map`, 'utf8'),
        ) as ConstructorParameters<typeof SourceMap>[0],
      );
    } catch {
      map = null;
    }
    maps.set(url, map);
  }
  return map;
}

/** The package or leapfrog folder a frame belongs to. */
function categoryOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : `(native) ${functionName || 'anonymous'}`;
  if (url.startsWith('node:')) return 'node: internals (loader, fs, net, child_process…)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return `pkg ${pkg[1] ?? '?'}`;
  if (url.includes('/dist/cli/')) {
    const map = sourceMapOf(url);
    const entry = map?.findEntry(frame.lineNumber, frame.columnNumber);
    const source = entry !== undefined && 'originalSource' in entry ? entry.originalSource : undefined;
    if (source === undefined) return 'dist/cli (unmapped)';
    const bundled = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source);
    if (bundled) return `pkg ${bundled[1] ?? '?'} (bundled)`;
    const folder = /src\/([^/]+)\//.exec(source);
    return folder ? `src/${folder[1] ?? '?'}` : source;
  }
  return url;
}

function analyse(profile: Profile, selfMs: Map<string, number>, windows: Map<string, [number, number][]>): number {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  let t = 0;
  const seen = new Map<string, [number, number]>();
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    t += (profile.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(id);
    if (node === undefined) return;
    const category = categoryOf(node.callFrame);
    selfMs.set(category, (selfMs.get(category) ?? 0) + dt);
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const name = byId.get(at)?.callFrame.functionName.replace(/\d+$/, '') ?? '';
      if (!MARKS.includes(name)) continue;
      const w = seen.get(name);
      if (w === undefined) seen.set(name, [t, t]);
      else w[1] = t;
    }
  });
  for (const [name, w] of seen) windows.set(name, [...(windows.get(name) ?? []), w]);
  return t;
}

let server: EmbeddedServer | undefined;
const dir = await mkdtemp(join(tmpdir(), 'leapfrog-profile-'));
try {
  let argsFor: () => Promise<string[]>;
  if (which === 'apply') {
    server = await startEmbeddedServer();
    await adminOf(server)('CREATE DATABASE noop_template');
    const b = spawnSync(
      process.execPath,
      [CLI, 'baseline', '--release', '1.0', '--catalog', NOOP, '--database-url', server.urlFor('noop_template')],
      { cwd: ROOT },
    );
    if (b.status !== 0) throw new Error('baseline failed');
    const copy = templateCopier(server, 'noop_template');
    argsFor = async () => [
      CLI,
      'apply',
      '--to',
      '1.2',
      '--no-backup',
      '--catalog',
      NOOP,
      '--database-url',
      await copy(),
    ];
  } else {
    argsFor = () => Promise.resolve([CLI, 'plan', '--from', '2023.1', '--to', '2025.1']);
  }
  const selfMs = new Map<string, number>();
  const windows = new Map<string, [number, number][]>();
  let total = 0;
  for (let run = 0; run < RUNS; run += 1) {
    const runDir = join(dir, String(run));
    const r = spawnSync(
      process.execPath,
      ['--cpu-prof', '--cpu-prof-interval', '200', '--cpu-prof-dir', runDir, ...(await argsFor())],
      {
        cwd: ROOT,
        env: { ...process.env, CI: '1' },
      },
    );
    if (r.status !== 0) throw new Error(`run exited ${String(r.status)}: ${r.stderr.toString()}`);
    const [file] = await readdir(runDir);
    total += analyse(JSON.parse(await readFile(join(runDir, file ?? ''), 'utf8')) as Profile, selfMs, windows);
  }
  const rows = [...selfMs].sort((a, b) => b[1] - a[1]);
  console.log(
    `${which}: ${RUNS} profiled runs, mean profiled span ${(total / RUNS).toFixed(1)} ms (from V8 profiler start to exit); self time per category, ms per run:`,
  );
  for (const [category, ms] of rows)
    if (ms / RUNS >= 0.5) console.log(`  ${(ms / RUNS).toFixed(1).padStart(7)}  ${category}`);
  console.log(
    'wall-clock windows (ms since profiler start, median of runs): first..last sample with the function on the stack',
  );
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  for (const [name, ws] of [...windows].sort((a, b) => med(a[1].map((w) => w[0])) - med(b[1].map((w) => w[0])))) {
    console.log(
      `  ${name.padEnd(20)} ${med(ws.map((w) => w[0]))
        .toFixed(1)
        .padStart(7)} .. ${med(ws.map((w) => w[1]))
        .toFixed(1)
        .padStart(7)}`,
    );
  }
} finally {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
}
