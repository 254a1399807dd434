// Runner overhead: a plan of 5 steps whose 4 phase commands (preflight, schema, data, check) are
// the no-op `true`, run by `leapfrog apply` with the process executor, against a plain shell
// script that runs the same 20 commands (the `true` program, each a process) in sequence;
// measured side by side in one run.
// Prints the ratio and the absolute overhead per phase (target < 50 ms per phase).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { loadCatalog } from '../../src/catalog/load-catalog.js';
import * as processExecutorModule from '../../src/executors/process-executor.js';
import * as openLedgerModule from '../../src/ledger/open-ledger.js';
import { databaseTargetFromUrl } from '../../src/pg/database-target.js';
import { startEmbeddedServer } from '../../src/pg/embedded-server.js';
import { planPath } from '../../src/planner/plan-path.js';
import * as runPlanModule from '../../src/runner/run-plan.js';
import { fmt, median, timeIt } from './stats.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const STEPS = 5;
const PHASES_PER_STEP = 4;
const ROUNDS = Number(process.env['ROUNDS'] ?? 5);
// RUNNER_BEFORE=<a checkout of an earlier commit, built>: its runner, ledger and executor run
// in-process too, interleaved with this tree's, so a change is measured side by side under the
// same load. RUNNER_IN_PROCESS_ONLY=1 skips the CLI series (they take most of the time).
const BEFORE = process.env['RUNNER_BEFORE'];
const IN_PROCESS_ONLY = process.env['RUNNER_IN_PROCESS_ONLY'] === '1';

interface RunnerModules {
  runPlan: typeof runPlanModule.runPlan;
  openPostgresLedger: typeof openLedgerModule.openPostgresLedger;
  ProcessExecutor: typeof processExecutorModule.ProcessExecutor;
}
const current: RunnerModules = {
  runPlan: runPlanModule.runPlan,
  openPostgresLedger: openLedgerModule.openPostgresLedger,
  ProcessExecutor: processExecutorModule.ProcessExecutor,
};
async function modulesOf(root: string): Promise<RunnerModules> {
  const load = (path: string) => import(join(root, path)) as Promise<Record<string, unknown>>;
  return {
    runPlan: (await load('src/runner/run-plan.ts'))['runPlan'] as RunnerModules['runPlan'],
    openPostgresLedger: (await load('src/ledger/open-ledger.ts'))[
      'openPostgresLedger'
    ] as RunnerModules['openPostgresLedger'],
    ProcessExecutor: (await load('src/executors/process-executor.ts'))[
      'ProcessExecutor'
    ] as RunnerModules['ProcessExecutor'],
  };
}
const before = BEFORE === undefined ? null : await modulesOf(BEFORE);

const work = await mkdtemp(join(tmpdir(), 'leapfrog-bench-runner-'));
const catalog = join(work, 'catalog');
const ids = ['1.0', ...Array.from({ length: STEPS }, (_, i) => `1.${i + 1}`)];
for (const id of ids) {
  await mkdir(join(catalog, id), { recursive: true });
  await writeFile(
    join(catalog, id, 'release.yaml'),
    [
      `release: "${id}"`,
      `image: "bench/noop:${id}"`,
      'milestone: true',
      'phases:',
      '  preflight: { run: ["true"], protocol: upgradecheck }',
      '  schema:',
      '    - { name: db, run: ["true"] }',
      '  data: { run: ["true", "{batchSize}"], protocol: batches }',
      '  check: { run: ["true"], protocol: upgradecheck }',
      '',
    ].join('\n'),
  );
}
// The same 20 commands as processes: the catalog's `true` is the program on PATH, which a runner
// must start as a process, while sh's own `true` is a builtin that starts none. Both scripts run:
// the first is the comparison that counts (the commands' own cost is not the runner's); the
// builtin one is the figure earlier runs of this benchmark reported.
const trueProgram = (process.env['PATH'] ?? '')
  .split(':')
  .map((dir) => join(dir, 'true'))
  .find((path) => existsSync(path));
if (trueProgram === undefined) throw new Error('no `true` program on PATH');
const script = join(work, 'plain.sh');
await writeFile(script, `#!/bin/sh\nset -e\n${`${trueProgram}\n`.repeat(STEPS * PHASES_PER_STEP)}`, { mode: 0o755 });
const builtinScript = join(work, 'plain-builtin.sh');
await writeFile(builtinScript, `#!/bin/sh\nset -e\n${'true\n'.repeat(STEPS * PHASES_PER_STEP)}`, { mode: 0o755 });

const server = await startEmbeddedServer();
const admin = new pg.Client({ connectionString: server.adminUrl });
await admin.connect();
const cli = (args: string[], url: string) =>
  execa('node', [CLI, ...args, '--catalog', catalog, '--database-url', url], { cwd: ROOT, env: { CI: '1' } });

const apply: number[] = [];
const noop: number[] = [];
const plain: number[] = [];
const plainBuiltin: number[] = [];
const inProcess: number[] = [];
const inProcessBefore: number[] = [];
const loaded = await loadCatalog(catalog);

/** `runPlan` of the whole plan in this process on a fresh database: ledger records and process spawns, no node start. */
async function runInProcess(modules: RunnerModules, name: string): Promise<number> {
  await admin.query(`CREATE DATABASE ${name}`);
  const target = databaseTargetFromUrl(server.urlFor(name));
  const ledger = await modules.openPostgresLedger(target, { schema: 'leapfrog', migrate: true });
  if (ledger === null) throw new Error('no ledger');
  try {
    await ledger.setCurrentRelease({ release: '1.0', version: '1.0.0' });
    const plan = planPath(loaded, '1.0', ids.at(-1) as string);
    const executor = new modules.ProcessExecutor();
    return await timeIt(() =>
      modules.runPlan({
        plan,
        planDigest: 'sha256:bench',
        catalog: loaded,
        ledger,
        executor,
        mode: 'apply',
        database: { url: target.url },
        secrets: target.secrets,
        signal: new AbortController().signal,
      }),
    );
  } finally {
    await ledger[Symbol.asyncDispose]();
  }
}

try {
  for (let round = 0; round < ROUNDS; round++) {
    plain.push(await timeIt(() => execa(script)));
    plainBuiltin.push(await timeIt(() => execa(builtinScript)));
    if (!IN_PROCESS_ONLY) {
      const name = `bench_${round}`;
      await admin.query(`CREATE DATABASE ${name}`);
      const url = server.urlFor(name);
      await cli(['baseline', '--release', '1.0'], url);
      apply.push(await timeIt(() => cli(['apply', '--to', ids.at(-1) as string, '--no-backup'], url)));
      // Same CLI, nothing left to do: node start, catalog, lock, ledger; the fixed cost of a run.
      noop.push(await timeIt(() => cli(['apply', '--to', ids.at(-1) as string, '--no-backup'], url)));
    }
    // The runner alone, in this process (and the earlier tree's, interleaved, when asked).
    inProcess.push(await runInProcess(current, `bench_in_${round}`));
    if (before !== null) inProcessBefore.push(await runInProcess(before, `bench_before_${round}`));
  }
} finally {
  await admin.end();
  await server.stop();
  await rm(work, { recursive: true, force: true });
}

const phases = STEPS * PHASES_PER_STEP;
const a = median(apply);
const n = median(noop);
const p = median(plain);
const r = median(inProcess);
console.log(
  `runner overhead: ${STEPS} steps x ${PHASES_PER_STEP} no-op phases = ${phases} commands, ${ROUNDS} rounds (medians)`,
);
const loadavg = (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');
console.log(`  load average at the end: ${loadavg}`);
const pb = median(plainBuiltin);
console.log(`  plain shell script, ${phases} x ${trueProgram}   ${fmt(p)}`);
console.log(`  plain shell script, ${phases} x sh's builtin true (no process)   ${fmt(pb)}`);
if (!IN_PROCESS_ONLY) {
  console.log(`  leapfrog apply (process)    ${fmt(a)}   ratio ${(a / p).toFixed(1)}x`);
  console.log(`  leapfrog apply, nothing to do (fixed cost: node, catalog, lock, ledger)  ${fmt(n)}`);
  console.log(`  overhead per phase, all-in   (apply - plain) / ${phases}        = ${fmt((a - p) / phases)}`);
  console.log(
    `  overhead per phase, runner   (apply - fixed - plain) / ${phases} = ${fmt((a - n - p) / phases)}   target < 50 ms`,
  );
}
console.log(
  `  runPlan in-process           ${fmt(r)}   ratio ${(r / p).toFixed(1)}x; per phase (runPlan - plain) / ${phases} = ${fmt((r - p) / phases)}   target < 15 ms ${(r - p) / phases < 15 ? 'MET' : 'NOT MET'}`,
);
console.log(
  `    (against the builtin script, which runs no process: ${fmt((r - pb) / phases)} per phase; that includes starting each command)`,
);
if (before !== null) {
  const rb = median(inProcessBefore);
  console.log(
    `  runPlan in-process, ${BEFORE ?? ''} (interleaved)   ${fmt(rb)}; per phase ${fmt((rb - p) / phases)}; per-round ratio after/before ${median(inProcess.map((x, i) => x / (inProcessBefore[i] ?? Number.NaN))).toFixed(2)}`,
  );
}
