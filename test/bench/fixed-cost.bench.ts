// The fixed cost of one CLI call (issue 10), which deployment tools pay once per release (`step`)
// and again between (`status`). Measured side by side in one run, interleaved with `node -e 0`
// so every series sees the same machine load; the ratios are the figures that count:
// - `leapfrog plan` cold start on the demo catalog: CPU (user+sys) and wall. Target: CPU <= 2.0x.
// - `leapfrog apply --no-backup` of the no-op catalog (test/fixtures/catalogs/noop: two steps,
//   four phases each, every command `true`) on a real embedded PostgreSQL, each round on a fresh
//   copy of a baselined template database. Target: wall <= 3.5x.
// - database connections opened before the first phase command. Target: <= 2. Counted twice:
//   by the server (pg_stat_database.sessions of the run's database) and in the process, by a
//   preload that logs every socket connect and child spawn with its time since process start.
// CPU and wall come from bash's `time` (wait4 of the child: ms resolution, no wrapper cost).
// leapfrog's caches (compiled code, validated manifests) live in a folder of this run, warmed by
// one call of each verb first: what every call of a deployment tool after its first sees. The
// first call after an install (no cache at all) is measured too, interleaved.
// `BENCH_ROUNDS=9 npm run bench -- fixed-cost` for more rounds.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { databaseTargetFromUrl } from '../../src/pg/database-target.js';
import { startEmbeddedServer } from '../../src/pg/embedded-server.js';
import { withClient } from '../../src/pg/with-client.js';
import { adminOf, bundleFloor, templateCopier } from './bench-server.js';
import { fmt, median } from './stats.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const NOOP = join(ROOT, 'test/fixtures/catalogs/noop');
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 7);
// BENCH_BEFORE_CLI=<main.js of an earlier build>: its `apply` runs in every round too, interleaved,
// so a change is measured side by side under the same load (the earlier build must sit where it
// resolves pg from this tree's node_modules, e.g. dist/before/cli/main.js).
const BEFORE_CLI = process.env['BENCH_BEFORE_CLI'];

interface Times {
  wallMs: number;
  cpuMs: number;
}

const work = await mkdtemp(join(tmpdir(), 'leapfrog-bench-fixed-'));
const errFile = join(work, 'stderr.txt');

/** Runs `node …args` under bash's `time`; stdout is dropped, a failure shows the command's stderr. */
function timed(args: readonly string[], env: Record<string, string> = {}): Times {
  const script = 'TIMEFORMAT="%3R %3U %3S"; time "$@" >/dev/null 2>"$LF_BENCH_ERR"';
  const run = spawnSync('bash', ['-c', script, 'bash', process.execPath, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CI: '1', ...env, LF_BENCH_ERR: errFile },
  });
  const line = run.stderr.trim().split('\n').at(-1) ?? '';
  const [real, user, sys] = line.split(' ').map(Number);
  if (run.status !== 0 || real === undefined || user === undefined || sys === undefined || Number.isNaN(real)) {
    throw new Error(`node ${args.join(' ')} exited ${String(run.status)}: ${line}`);
  }
  return { wallMs: real * 1000, cpuMs: (user + sys) * 1000 };
}

// Logs, with ms since process start, every TCP/unix connect and every child spawn of the process
// it is preloaded into: which connections open before the first phase command, and when.
const TRACER = `
import net from 'node:net';
import cp from 'node:child_process';
import { appendFileSync } from 'node:fs';
const out = process.env.LF_TRACE;
const log = (what) => appendFileSync(out, performance.now().toFixed(1) + ' ' + what + '\\n');
log('preload');
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const to = typeof args[0] === 'object' && args[0] !== null ? (args[0].port ?? args[0].path ?? JSON.stringify(args[0])) : args[0];
  log('connect ' + String(to));
  this.once('connect', () => log('connected ' + String(to)));
  return connect.apply(this, args);
};
const spawn = cp.ChildProcess.prototype.spawn;
cp.ChildProcess.prototype.spawn = function (options) {
  log('spawn ' + [options.file, ...(options.args ?? []).slice(1)].join(' '));
  return spawn.call(this, options);
};
process.on('exit', () => log('exit'));
`;
const tracer = join(work, 'tracer.mjs');
await writeFile(tracer, TRACER);

// The floor: what ANY tool doing this job in Node pays, with none of leapfrog's own work. It
// starts Node, loads pg (bundled like leapfrog's, without the undici probe), opens two
// connections (a ledger and a lock), takes an advisory lock, and for each of the 8 phases runs
// the statements leapfrog runs per phase (start, result) and spawns `true` with piped output,
// then a statement per step and the unlock. Its ratio to `node -e 0` is how close to the 3.5x
// target any implementation on this machine could get; leapfrog's wall minus the floor's is
// leapfrog's own cost.
const FLOOR = `
import { spawn } from 'node:child_process';
import pg from 'pg';
const url = process.argv[2];
const ledger = new pg.Client({ connectionString: url }), lock = new pg.Client({ connectionString: url });
await Promise.all([ledger.connect(), lock.connect()]);
await lock.query('SELECT pg_try_advisory_lock(42)');
await ledger.query('SELECT 1');
for (let step = 0; step < 2; step++) {
  await ledger.query('SELECT 1');
  for (let phase = 0; phase < 4; phase++) {
    await ledger.query('SELECT 1');
    await new Promise((resolve, reject) => {
      const child = spawn('true', [], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      child.stdout.on('data', () => {});
      child.stderr.on('data', () => {});
      child.on('error', reject).on('close', resolve);
    });
    await ledger.query('SELECT 1');
  }
}
await lock.query('SELECT pg_advisory_unlock(42)');
await Promise.all([ledger.end(), lock.end()]);
`;
const floor = await bundleFloor(work, FLOOR);

const plan = [CLI, 'plan', '--from', '2023.1', '--to', '2025.1'];
const baseline: Times[] = [];
const planRuns: Times[] = [];
const applyRuns: Times[] = [];
const applyBeforeRuns: Times[] = [];
const applyColdRuns: Times[] = [];
const caches = { LEAPFROG_CACHE_DIR: join(work, 'cache') };
// The earlier build keeps its caches apart: each build removes the compile cache files of every
// other build (src/cli/bin.ts), so sharing one folder would leave both compiling at every call.
const beforeCaches = { LEAPFROG_CACHE_DIR: join(work, 'cache-before') };
const noCaches = { LEAPFROG_CACHE_DIR: 'off' };
const floorRuns: Times[] = [];
const sessions: number[] = [];

await using server = await startEmbeddedServer();
const admin = adminOf(server);
await admin('CREATE DATABASE noop_template');
const baselined = spawnSync(
  process.execPath,
  [CLI, 'baseline', '--release', '1.0', '--catalog', NOOP, '--database-url', server.urlFor('noop_template')],
  {
    cwd: ROOT,
    encoding: 'utf8',
  },
);
if (baselined.status !== 0) throw new Error(`baseline exited ${String(baselined.status)}: ${baselined.stderr}`);
const freshCopy = templateCopier(server, 'noop_template');
const apply = (url: string, cli = CLI) => [
  cli,
  'apply',
  '--to',
  '1.2',
  '--no-backup',
  '--catalog',
  NOOP,
  '--database-url',
  url,
];

/** Sessions the server counted for one database (flushed when each session ends). */
async function sessionsOf(database: string): Promise<number> {
  const target = databaseTargetFromUrl(server.adminUrl);
  const read = () =>
    withClient(target, async (client) => {
      const { rows } = await client.query<{ n: string }>(
        'SELECT sessions AS n FROM pg_stat_database WHERE datname = $1',
        [database],
      );
      return Number(rows[0]?.n ?? Number.NaN);
    });
  // A backend flushes its counters as it exits, which can be just after our child has exited.
  let n = await read();
  for (let i = 0; i < 20; i += 1) {
    await new Promise((r) => setTimeout(r, 100));
    const again = await read();
    if (again === n) break;
    n = again;
  }
  return n;
}

try {
  // Warm the OS file cache and leapfrog's caches once; every measured run is still a fresh process.
  timed(plan, caches);
  timed(apply(await freshCopy()), caches);
  if (BEFORE_CLI !== undefined) timed(apply(await freshCopy(), BEFORE_CLI), beforeCaches);
  for (let round = 0; round < ROUNDS; round += 1) {
    const url = await freshCopy();
    const database = new URL(url).pathname.slice(1);
    // Interleaved, so every series sees the same load.
    baseline.push(timed(['-e', '0']));
    planRuns.push(timed(plan, caches));
    // The earlier build goes first in odd rounds, second in even ones: neither always follows the other.
    const beforeUrl = BEFORE_CLI === undefined ? null : await freshCopy();
    if (beforeUrl !== null && round % 2 === 1) applyBeforeRuns.push(timed(apply(beforeUrl, BEFORE_CLI), beforeCaches));
    applyRuns.push(timed(apply(url), caches));
    applyColdRuns.push(timed(apply(await freshCopy()), noCaches));
    floorRuns.push(timed([floor, await freshCopy()]));
    if (beforeUrl !== null && round % 2 === 0) applyBeforeRuns.push(timed(apply(beforeUrl, BEFORE_CLI), beforeCaches));
    sessions.push(await sessionsOf(database));
  }

  // One traced run (not timed): the order of connects and spawns.
  const traceFile = join(work, 'trace.txt');
  const traced = spawnSync(process.execPath, ['--import', tracer, ...apply(await freshCopy())], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, CI: '1', ...caches, LF_TRACE: traceFile },
  });
  if (traced.status !== 0) throw new Error(`traced apply exited ${String(traced.status)}: ${traced.stderr}`);
  const events = (await readFile(traceFile, 'utf8')).trim().split('\n');
  const firstPhase = events.findIndex((e) => / spawn true( |$)/.test(e));
  const before = events.slice(0, firstPhase === -1 ? events.length : firstPhase);
  const connectsBefore = before.filter((e) => e.includes(` connect ${server.port}`)).length;

  const b = median(baseline.map((t) => t.wallMs));
  const bCpu = median(baseline.map((t) => t.cpuMs));
  const pWall = median(planRuns.map((t) => t.wallMs));
  const pCpu = median(planRuns.map((t) => t.cpuMs));
  const aWall = median(applyRuns.map((t) => t.wallMs));
  const aCpu = median(applyRuns.map((t) => t.cpuMs));
  // Each round's runs share that round's load; the median of per-round ratios is the figure.
  const ratio = (series: Times[], key: keyof Times) =>
    median(series.map((t, i) => t[key] / (baseline[i]?.[key] ?? Number.NaN)));
  const planCpuRatio = ratio(planRuns, 'cpuMs');
  const applyWallRatio = ratio(applyRuns, 'wallMs');
  const verdict = (ok: boolean) => (ok ? 'MET' : 'NOT MET');
  const loadavg = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');

  console.log(
    `fixed cost of one CLI call, ${ROUNDS} rounds interleaved (medians; ratios are medians of per-round ratios); load average ${loadavg}`,
  );
  console.log(`  node -e 0                          wall ${fmt(b)}   cpu ${fmt(bCpu)}`);
  console.log(
    `  leapfrog plan (demo catalog)       wall ${fmt(pWall)}   cpu ${fmt(pCpu)}   cpu ${planCpuRatio.toFixed(2)}x, wall ${ratio(planRuns, 'wallMs').toFixed(2)}x   target cpu <= 2.0x ${verdict(planCpuRatio <= 2)}`,
  );
  console.log(
    `  leapfrog apply --no-backup (noop)  wall ${fmt(aWall)}   cpu ${fmt(aCpu)}   wall ${applyWallRatio.toFixed(2)}x, cpu ${ratio(applyRuns, 'cpuMs').toFixed(2)}x   target wall <= 3.5x ${verdict(applyWallRatio <= 3.5)}`,
  );
  console.log(
    `  apply, first call after an install (no caches)  wall ${fmt(median(applyColdRuns.map((t) => t.wallMs)))}   cpu ${fmt(median(applyColdRuns.map((t) => t.cpuMs)))}   wall ${ratio(applyColdRuns, 'wallMs').toFixed(2)}x, cpu ${ratio(applyColdRuns, 'cpuMs').toFixed(2)}x`,
  );
  if (BEFORE_CLI !== undefined) {
    console.log(
      `  apply, ${BEFORE_CLI} (interleaved)  wall ${fmt(median(applyBeforeRuns.map((t) => t.wallMs)))}   cpu ${fmt(median(applyBeforeRuns.map((t) => t.cpuMs)))}   wall ${ratio(applyBeforeRuns, 'wallMs').toFixed(2)}x, cpu ${ratio(applyBeforeRuns, 'cpuMs').toFixed(2)}x`,
    );
  }
  const fWall = median(floorRuns.map((t) => t.wallMs));
  console.log(
    `  the floor (node, pg, 2 connections, the statements, 8 spawns of true; no leapfrog)  wall ${fmt(fWall)}   cpu ${fmt(median(floorRuns.map((t) => t.cpuMs)))}   wall ${ratio(floorRuns, 'wallMs').toFixed(2)}x; leapfrog's own share of apply ${fmt(aWall - fWall)}`,
  );
  console.log(`  database sessions per apply (server's count): ${[...new Set(sessions)].join(', ')}`);
  console.log(
    `  connections before the first phase command: ${connectsBefore}   target <= 2 ${verdict(connectsBefore <= 2)}`,
  );
  console.log(`  traced apply (ms since process start; pg is port ${server.port}):`);
  for (const event of firstPhase === -1 ? events : events.slice(0, firstPhase + 1)) console.log(`    ${event}`);
  if (firstPhase !== -1)
    console.log(`    … ${events.length - firstPhase - 1} more events, last: ${events.at(-1) ?? ''}`);
} finally {
  await rm(work, { recursive: true, force: true });
}
