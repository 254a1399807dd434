// Fleet scale (issue 12): FLEET_TENANTS tenant databases (default 200) on one embedded PostgreSQL,
// listed by an inventory query, each walking two hops (1.0 -> 1.1 -> 1.2) of a light catalog
// (schema, data and check are tiny shell commands) with `lockstep: false`, at --parallel 1, 4, 8
// and 16 in one run. Prints the wall time and speedup per setting, leapfrog's own CPU per target
// per hop (this process only: coordination, ledgers, locks, executors; the phase commands are
// child processes and are not counted) and the peak heap, then the peak heap of a fleet a quarter
// the size at the same parallelism (flat memory: a target's output is never kept).
//
// leapfrog's CPU is split in two: the synchronous `child_process.spawn` calls that start the phase
// commands (fork/exec in this process: the price of running a command, paid per phase, and
// proportional to this process's size) and the rest, the coordination proper (scheduler, ledger
// sessions and writes, locks, planning, renderers). The phase commands' own CPU (the children,
// from /proc/self/stat's cutime + cstime) and the server's are reported beside it, not in it.
//
// Each round copies a template database baselined at 1.0 (CREATE DATABASE … TEMPLATE), so every
// setting starts from identical tenants; copies share the template's ledger identity, which only
// backups use (the fleet runs with no backup, as a benchmark of coordination).
import childProcess from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { baselineFleet } from '../../src/fleet/fleet-status.js';
import { runFleet } from '../../src/fleet/run-fleet.js';
import { startEmbeddedServer } from '../../src/pg/embedded-server.js';
import { fmt } from './stats.js';

// Count the CPU of every spawn (execa's included: ESM bindings of builtins follow syncBuiltinESMExports).
let spawnCpuUs = 0;
const originalSpawn = childProcess.spawn;
childProcess.spawn = function spawn(this: unknown, ...args: Parameters<typeof originalSpawn>) {
  const before = process.cpuUsage();
  try {
    return originalSpawn.apply(this, args);
  } finally {
    const used = process.cpuUsage(before);
    spawnCpuUs += used.user + used.system;
  }
} as typeof originalSpawn;
syncBuiltinESMExports();

/** CPU of this process's waited-for children (the phase commands), in ms. */
function childrenCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  // After the ") ": state is field 3, so cutime (16) and cstime (17) are at 13 and 14.
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const loadAtStart = load();

// FLEET_BEFORE=<a checkout of an earlier commit>: after each setting, its runFleet walks a fresh
// copy of the same fleet too, so a change to coordination is measured side by side in one run.
const BEFORE = process.env['FLEET_BEFORE'];
const runFleetBefore =
  BEFORE === undefined
    ? null
    : ((await import(join(BEFORE, 'src/fleet/run-fleet.ts'))) as { runFleet: typeof runFleet }).runFleet;
const TENANTS = Number(process.env['FLEET_TENANTS'] ?? 200);
const PARALLELS = (process.env['FLEET_PARALLELS'] ?? '1,4,8,16').split(',').map(Number);
const HOPS = 2;

const work = await mkdtemp(join(tmpdir(), 'leapfrog-bench-fleet-'));
const catalog = join(work, 'catalog');
for (const id of ['1.0', '1.1', '1.2']) {
  await mkdir(join(catalog, id), { recursive: true });
  const hop = id !== '1.0';
  await writeFile(
    join(catalog, id, 'release.yaml'),
    [
      `release: "${id}"`,
      'milestone: true',
      'phases:',
      '  schema:',
      `    - { name: db, run: [sh, -c, "${hop ? 'sleep 0.05' : 'true'}"] }`,
      ...(hop
        ? [
            '  data: { run: [sh, -c, "exit 0"], protocol: batches }',
            '  check: { run: [sh, -c, "exit 0"], protocol: upgradecheck }',
          ]
        : []),
      '',
    ].join('\n'),
  );
}

const server = await startEmbeddedServer();
const admin = new pg.Client({ connectionString: server.adminUrl });
await admin.connect();
const env = { INVENTORY_URL: server.urlFor('inventory'), TEMPLATE_URL: server.urlFor('tenant_template') };

async function fleetFile(prefix: string, count: number): Promise<string> {
  const inventory = new pg.Client({ connectionString: env.INVENTORY_URL });
  await inventory.connect();
  await inventory.query(`CREATE TABLE IF NOT EXISTS tenants (fleet text, name text, url text)`);
  for (let i = 0; i < count; i++) {
    const name = `${prefix}_${String(i).padStart(4, '0')}`;
    await admin.query(`CREATE DATABASE ${name} TEMPLATE tenant_template`);
    await inventory.query('INSERT INTO tenants VALUES ($1, $2, $3)', [prefix, name, server.urlFor(name)]);
  }
  await inventory.end();
  const file = join(work, `${prefix}.yaml`);
  await writeFile(
    file,
    `inventory:
  sql: "select name, url from tenants where fleet = '${prefix}' order by name"
  url: { env: INVENTORY_URL }
  catalog: ${catalog}
groups:
  - { name: canary, match: ["${prefix}_0000"] }
  - { name: tenants, match: ["*"], dependsOn: [canary], parallel: 4, onError: continue }
`,
  );
  return file;
}

interface Round {
  label: string;
  tenants: number;
  parallel: number;
  wallMs: number;
  cpuMs: number;
  spawnCpuMs: number;
  childrenCpuMs: number;
  peakHeapMb: number;
  peakRssMb: number;
  exitCode: number;
}

async function round(
  label: string,
  prefix: string,
  count: number,
  parallel: number,
  walk: typeof runFleet = runFleet,
): Promise<Round> {
  const file = await fleetFile(prefix, count);
  global.gc?.();
  let peak = process.memoryUsage().heapUsed;
  let peakRss = process.memoryUsage.rss();
  // Every 250 ms: process.memoryUsage() walks the heap spaces, and this process's CPU is what is measured.
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 250);
  const spawnBefore = spawnCpuUs;
  const childrenBefore = childrenCpuMs();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const report = await walk({
    fleetFile: file,
    to: '1.2',
    ledgerSchema: 'leapfrog',
    parallel,
    executorKind: 'process',
    lockTimeoutMs: 10_000,
    env,
  });
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const spawnCpuMs = (spawnCpuUs - spawnBefore) / 1000;
  const children = childrenCpuMs() - childrenBefore;
  clearInterval(sampler);
  const notDone = report.targets.filter((t) => t.state !== 'done');
  if (notDone.length > 0)
    throw new Error(`${label}: ${notDone.length} targets not done: ${notDone[0]?.lastFailure?.message}`);
  return {
    label,
    tenants: count,
    parallel,
    wallMs,
    cpuMs: (used.user + used.system) / 1000 - spawnCpuMs,
    spawnCpuMs,
    childrenCpuMs: children,
    peakHeapMb: peak / 1024 / 1024,
    peakRssMb: peakRss / 1024 / 1024,
    exitCode: report.exitCode,
  };
}

const rounds: Round[] = [];
try {
  await admin.query('CREATE DATABASE inventory');
  await admin.query('CREATE DATABASE tenant_template');
  const template = join(work, 'template.yaml');
  await writeFile(
    template,
    `targets: [{ name: template, catalog: ${catalog}, url: { env: TEMPLATE_URL } }]\ngroups: [{ name: all, match: ["*"] }]\n`,
  );
  const baselined = await baselineFleet({
    fleetFile: template,
    release: '1.0',
    ledgerSchema: 'leapfrog',
    lockTimeoutMs: 5_000,
    verify: false,
    force: false,
    executorKind: 'process',
    env,
  });
  if (baselined.exitCode !== 0) throw new Error('baselining the template failed');
  for (const parallel of PARALLELS) {
    rounds.push(await round(`--parallel ${parallel}`, `p${parallel}`, TENANTS, parallel));
    if (runFleetBefore !== null)
      rounds.push(await round(`--parallel ${parallel}, before`, `b${parallel}`, TENANTS, parallel, runFleetBefore));
  }
  const quarter = Math.max(1, Math.round(TENANTS / 4));
  const p = PARALLELS.at(-1) ?? 16;
  rounds.push(await round(`--parallel ${p}, ${quarter} tenants`, `q${p}`, quarter, p));
} finally {
  await admin.end();
  await server.stop();
  await rm(work, { recursive: true, force: true });
}

const base = rounds[0]?.wallMs ?? Number.NaN;
console.log(
  `fleet: ${TENANTS} tenant databases, ${HOPS} hops each (schema sleep 0.05 + data + check), lockstep false, one canary; ${availableParallelism()} CPUs, load average ${loadAtStart} at the start, ${load()} at the end (a shared machine)`,
);
console.log(
  '  per target per hop: coordination = leapfrog CPU without spawning; spawn = starting the phase commands; commands = their own CPU',
);
for (const r of rounds) {
  const per = (ms: number) => fmt(ms / (r.tenants * HOPS)).padStart(8);
  console.log(
    `  ${r.label.padEnd(26)} wall ${fmt(r.wallMs).padStart(9)}  speedup ${r.tenants === TENANTS && !r.label.endsWith('before') ? `${(base / r.wallMs).toFixed(1).padStart(4)}x` : '    -'}  coordination ${per(r.cpuMs)}  spawn ${per(r.spawnCpuMs)}  commands ${per(r.childrenCpuMs)}  peak heap ${r.peakHeapMb.toFixed(0)} MB, rss ${r.peakRssMb.toFixed(0)} MB`,
  );
}
