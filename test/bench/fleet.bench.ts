// Fleet scale (issue 12): FLEET_TENANTS tenant databases (default 200) on one embedded PostgreSQL,
// listed by an inventory query, each walking two hops (1.0 -> 1.1 -> 1.2) of a light catalog
// (schema `sleep 0.05`, data and check `exit 0` in sh) with `lockstep: false`, at --parallel 1, 4,
// 8 and 16 in one run. Each setting walks twice, on fresh copies of the same tenants:
//
// - **real**: the phase commands run as processes. Prints the wall time and speedup, leapfrog's
//   CPU per target per hop (this process) split into the synchronous `child_process.spawn` calls
//   and the rest, the commands' own CPU (the children, /proc/self/stat's cutime + cstime), the
//   server's (its backends, reaped by the postmaster: its cutime + cstime) and the minor page
//   faults this process took;
// - **coordination**: the same walk with `ProcessExecutor.run` answered in-process (it waits as
//   long as the command would and exits 0, as `sh -c "exit 0"` does; no process starts). Its CPU
//   is the coordination proper: scheduler, planning, ledger sessions and writes, locks,
//   protocols. The difference to the real walk is the price of running commands from Node: the
//   spawns, their pipes and exits, and the page faults every fork leaves behind (see below).
//
// Then the peak heap of a fleet a quarter the size at the same parallelism (flat memory: a
// target's output is never kept).
//
// Why the split: a fork write-protects every page of the forking process; each page it writes
// afterwards takes a copy-on-write fault. On a virtual machine a fault is expensive, so the price
// is measured here too (`faultCostUs`) and printed beside the faults per hop.
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
import { ProcessExecutor } from '../../src/executors/process-executor.js';
import type { PhaseRunOptions, PhaseRunResult } from '../../src/executors/phase-executor.js';
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

/** CPU of the server's ended backends and of the postmaster itself, in ms (its /proc stat). */
function serverCpuMs(dataDir: string): number {
  const pid = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0] ?? '';
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // utime, stime, cutime, cstime: fields 14–17, at 11–14 after the ") ".
  return ([11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) * 1000) / 100;
}

/** The CPU price of one copy-on-write page fault in this process, in µs: write 4,000 pages after a fork. */
function faultCostUs(): number {
  const pages = 4000;
  const buffer = Buffer.alloc(pages * 4096, 1);
  childProcess.spawnSync('true');
  const faults = process.resourceUsage().minorPageFault;
  const cpu = process.cpuUsage();
  for (let i = 0; i < buffer.length; i += 4096) buffer[i] = 2;
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / Math.max(1, process.resourceUsage().minorPageFault - faults);
}

/**
 * The in-process stand-in for the phase commands (the coordination rounds): it takes as long as
 * the command would (the schema's 50 ms sleep, the others ~1 ms) and exits 0 with no output,
 * which is what `sh -c "exit 0"` answers to the batches and upgradecheck protocols.
 */
async function answeredInProcess(_command: readonly string[], options: PhaseRunOptions): Promise<PhaseRunResult> {
  const ms = options.phase === 'schema' ? 50 : 1;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { exitCode: 0, timedOut: false, aborted: false, durationMs: ms, outputTail: [] };
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
// The coordination rounds answer the commands in-process: in this tree and in the earlier one.
const executors: (typeof ProcessExecutor)[] = [ProcessExecutor];
if (BEFORE !== undefined) {
  const before = join(BEFORE, 'src/executors/process-executor.ts');
  executors.push(((await import(before)) as { ProcessExecutor: typeof ProcessExecutor }).ProcessExecutor);
}
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

let created = 0;
async function fleetFile(prefix: string, count: number): Promise<string> {
  const inventory = new pg.Client({ connectionString: env.INVENTORY_URL });
  await inventory.connect();
  await inventory.query(`CREATE TABLE IF NOT EXISTS tenants (fleet text, name text, url text)`);
  for (let i = 0; i < count; i++) {
    const name = `${prefix}_${String(i).padStart(4, '0')}`;
    await admin.query(`CREATE DATABASE ${name} TEMPLATE tenant_template`);
    created++;
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
  mode: 'real' | 'coordination';
  tenants: number;
  parallel: number;
  wallMs: number;
  /** This process's CPU outside the spawn calls. */
  cpuMs: number;
  spawnCpuMs: number;
  childrenCpuMs: number;
  serverCpuMs: number;
  faults: number;
  peakHeapMb: number;
  peakRssMb: number;
  exitCode: number;
}

async function round(
  label: string,
  prefix: string,
  count: number,
  parallel: number,
  mode: Round['mode'],
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
  // Put back on the same prototypes afterwards, never called unbound.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const realRuns = executors.map((e) => e.prototype.run);
  if (mode === 'coordination') for (const e of executors) e.prototype.run = answeredInProcess;
  const spawnBefore = spawnCpuUs;
  const childrenBefore = childrenCpuMs();
  const serverBefore = serverCpuMs(server.dataDir);
  const faultsBefore = process.resourceUsage().minorPageFault;
  const cpu = process.cpuUsage();
  const started = performance.now();
  let report: Awaited<ReturnType<typeof runFleet>>;
  try {
    report = await walk({
      fleetFile: file,
      to: '1.2',
      ledgerSchema: 'leapfrog',
      parallel,
      executorKind: 'process',
      lockTimeoutMs: 10_000,
      env,
    });
  } finally {
    executors.forEach((e, i) => (e.prototype.run = realRuns[i] as typeof e.prototype.run));
    clearInterval(sampler);
  }
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const faults = process.resourceUsage().minorPageFault - faultsBefore;
  const spawnCpuMs = (spawnCpuUs - spawnBefore) / 1000;
  const children = childrenCpuMs() - childrenBefore;
  const notDone = report.targets.filter((t) => t.state !== 'done');
  if (notDone.length > 0)
    throw new Error(`${label}: ${notDone.length} targets not done: ${notDone[0]?.lastFailure?.message}`);
  if (mode === 'coordination' && spawnCpuMs > 0) throw new Error(`${label}: a phase command was spawned`);
  return {
    label,
    mode,
    tenants: count,
    parallel,
    wallMs,
    cpuMs: (used.user + used.system) / 1000 - spawnCpuMs,
    spawnCpuMs,
    childrenCpuMs: children,
    serverCpuMs: serverCpuMs(server.dataDir) - serverBefore,
    faults,
    peakHeapMb: peak / 1024 / 1024,
    peakRssMb: peakRss / 1024 / 1024,
    exitCode: report.exitCode,
  };
}

const cpus = availableParallelism();
console.log(
  `fleet: ${TENANTS} tenant databases, ${HOPS} hops each (schema sleep 0.05 + data + check), lockstep false, one canary; ${cpus} CPUs, load average ${loadAtStart} at the start (a shared machine)`,
);
console.log(
  `  per target per hop. leapfrog = this process: spawn = inside child_process.spawn, rest = everything else. commands = their own CPU. server = its backends. busy = all of it / (wall x ${cpus} CPUs).`,
);
console.log(
  `  a copy-on-write page fault costs ${faultCostUs().toFixed(1)} µs of CPU here; faults = this process's minor faults per target per hop`,
);

/**
 * The server's side of one connection: connect and end, one after another, to each tenant of a
 * round (a backend starts and exits for each). Every walk opens two.
 */
async function backendStartCost(prefix: string, count: number): Promise<void> {
  const before = serverCpuMs(server.dataDir);
  for (let i = 0; i < count; i++) {
    const client = new pg.Client({ connectionString: server.urlFor(`${prefix}_${String(i).padStart(4, '0')}`) });
    await client.connect();
    await client.end();
  }
  // The postmaster counts a backend's CPU once it has reaped it.
  await new Promise((resolve) => setTimeout(resolve, 200));
  console.log(
    `  a connection (connect, end) costs the server ${fmt((serverCpuMs(server.dataDir) - before) / count)} of CPU`,
  );
}

/** One line per round, printed as it ends (a 200-tenant run takes minutes). */
function print(r: Round): void {
  const hops = r.tenants * HOPS;
  const per = (ms: number) => fmt(ms / hops).padStart(8);
  const busy = (r.cpuMs + r.spawnCpuMs + r.childrenCpuMs + r.serverCpuMs) / (r.wallMs * cpus);
  const base = rounds[0]?.wallMs ?? Number.NaN;
  const speedup = r.tenants === TENANTS && r.mode === 'real' && !r.label.includes('before');
  const leapfrog =
    r.mode === 'coordination'
      ? `coordination ${per(r.cpuMs)}${' '.repeat(30)}`
      : `leapfrog ${per(r.cpuMs + r.spawnCpuMs)} (spawn ${per(r.spawnCpuMs)}, rest ${per(r.cpuMs)})`;
  console.log(
    `  ${r.label.padEnd(24)} wall ${fmt(r.wallMs).padStart(9)}  ${speedup ? `speedup ${(base / r.wallMs).toFixed(1).padStart(4)}x` : ' '.repeat(13)}  ${leapfrog}  commands ${per(r.childrenCpuMs)}  server ${per(r.serverCpuMs)}  busy ${(busy * 100).toFixed(0).padStart(3)}%  faults ${(r.faults / hops).toFixed(0).padStart(4)}  peak heap ${r.peakHeapMb.toFixed(0)} MB, rss ${r.peakRssMb.toFixed(0)} MB`,
  );
}

const rounds: Round[] = [];
const record = (r: Round) => {
  rounds.push(r);
  print(r);
};
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
    record(await round(`--parallel ${parallel}`, `p${parallel}`, TENANTS, parallel, 'real'));
    record(await round(`  coordination`, `c${parallel}`, TENANTS, parallel, 'coordination'));
    if (runFleetBefore !== null) {
      record(await round(`  before`, `b${parallel}`, TENANTS, parallel, 'real', runFleetBefore));
      record(await round(`  before, coordination`, `d${parallel}`, TENANTS, parallel, 'coordination', runFleetBefore));
    }
  }
  const quarter = Math.max(1, Math.round(TENANTS / 4));
  const p = PARALLELS.at(-1) ?? 16;
  record(await round(`--parallel ${p}, ${quarter} tenants`, `q${p}`, quarter, p, 'real'));
  await backendStartCost(`q${p}`, quarter);
} finally {
  // Every round left its tenants in the server: removing its data directory takes a while.
  console.log(`  stopping the server and removing its ${created} tenant databases…`);
  await admin.end();
  await server.stop();
  await rm(work, { recursive: true, force: true });
}

console.log(`  load average ${load()} at the end`);
