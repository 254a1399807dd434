// One green light two ways, side by side in one run, both through the runner's own phase path
// (runPhaseCommand, as `apply` runs a check):
//   - a `sql` check: leapfrog runs the query in-process on the ledger's session (READ ONLY
//     transaction, statement timeout, rollback);
//   - a check process: a Node program that loads `pg`, connects, runs the same query and exits
//     with the upgradecheck code (what a release engineer wrote before issue 11).
// Target: the sql check < 20 ms, against the 300+ ms of a check process.
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Release } from '../../src/catalog/release.js';
import { ProcessExecutor } from '../../src/executors/process-executor.js';
import { openPostgresLedger } from '../../src/ledger/open-ledger.js';
import { databaseTargetFromUrl } from '../../src/pg/database-target.js';
import { startEmbeddedServer } from '../../src/pg/embedded-server.js';
import { withClient } from '../../src/pg/with-client.js';
import { runPhaseCommand, type PhaseRun } from '../../src/runner/phase-command.js';
import type { StepPhase } from '../../src/runner/step-phases.js';
import { adminOf } from './bench-server.js';
import { fmt, median, percentile, timeIt } from './stats.js';

const ROOT = resolve(import.meta.dirname, '../..');
const ROUNDS = Number(process.env['ROUNDS'] ?? 15);
const SQL_PER_ROUND = 10;
const QUERY = "select 'public.jobs is missing' where to_regclass('public.jobs') is null";

const work = await mkdtemp(join(tmpdir(), 'leapfrog-bench-sql-'));
// The check program resolves `pg` as a release's own folder would: from its node_modules.
await symlink(join(ROOT, 'node_modules'), join(work, 'node_modules'));
const program = join(work, 'check.mjs');
await writeFile(
  program,
  `import pg from 'pg';
const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
const { rows } = await client.query(${JSON.stringify(QUERY)});
await client.end();
const result = rows.length === 0 ? 0 : 2;
console.log(JSON.stringify({ name: 'bench', checks: [{ check: 'jobs table present', result, details: rows[0]?.['?column?'] ?? null }] }));
process.exit(result);
`,
);

const release = (phases: Release['phases']): Release => ({
  id: '1.1',
  version: '1.1.0',
  upgradeFrom: '*',
  upgradeFromIsDefault: true,
  entry: false,
  milestone: false,
  yanked: false,
  env: {},
  local: { path: [], cwd: '.' },
  phases,
  timeoutsMs: { preflight: 60_000, schema: 60_000, data: 60_000, check: 60_000 },
  dir: work,
  file: join(work, 'release.yaml'),
  manifestDigest: 'sha256:bench',
});
const sqlPhase: StepPhase = {
  phase: 'check',
  name: 'check',
  protocol: 'upgradecheck',
  env: {},
  sql: [{ name: 'jobs table present', query: QUERY, severity: 'failure' }],
};
const processPhase: StepPhase = {
  phase: 'check',
  name: 'check',
  run: [process.execPath, program],
  protocol: 'upgradecheck',
  env: {},
  sql: [],
};

const server = await startEmbeddedServer();
const sqlTimes: number[] = [];
const processTimes: number[] = [];
try {
  await adminOf(server)('CREATE DATABASE bench_sql');
  const target = databaseTargetFromUrl(server.urlFor('bench_sql'));
  await withClient(target, (client) => client.query('CREATE TABLE jobs (id int PRIMARY KEY)'));
  const ledger = await openPostgresLedger(target, { schema: 'leapfrog', migrate: true });
  if (ledger === null) throw new Error('no ledger');
  try {
    const run = (phases: Release['phases']): PhaseRun => ({
      runId: 'bench',
      release: release(phases),
      executor: new ProcessExecutor(),
      database: { url: target.url },
      secrets: target.secrets,
      signal: new AbortController().signal,
      emit: () => undefined,
      sqlProbe: ledger.sqlProbe(target.secrets),
    });
    const sqlRun = run({ schema: [], check: { ...sqlPhase, sql: sqlPhase.sql } });
    const processRun = run({
      schema: [],
      check: { run: processPhase.run ?? [], protocol: 'upgradecheck', env: {}, sql: [] },
    });
    const expectGreen = async (r: PhaseRun, phase: StepPhase) => {
      const outcome = await runPhaseCommand(r, phase);
      if (outcome.status !== 'succeeded' || outcome.checks[0]?.result !== 0) {
        throw new Error(`bench check not green: ${JSON.stringify(outcome)}`);
      }
    };
    // Warm both paths once (the probe's first BEGIN, the OS file cache for node and pg).
    await expectGreen(sqlRun, sqlPhase);
    await expectGreen(processRun, processPhase);
    for (let round = 0; round < ROUNDS; round++) {
      processTimes.push(await timeIt(() => expectGreen(processRun, processPhase)));
      for (let i = 0; i < SQL_PER_ROUND; i++) sqlTimes.push(await timeIt(() => expectGreen(sqlRun, sqlPhase)));
    }
  } finally {
    await ledger[Symbol.asyncDispose]();
  }
} finally {
  await server.stop();
  await rm(work, { recursive: true, force: true });
}

const s = median(sqlTimes);
const p = median(processTimes);
console.log(
  `one green light through runPhaseCommand, interleaved (${sqlTimes.length} sql, ${processTimes.length} process)`,
);
console.log(
  `  sql check (in-process, ledger session)   median ${fmt(s)}  p95 ${fmt(percentile(sqlTimes, 95))}   target < 20 ms`,
);
console.log(`  check process (node + pg, connect)       median ${fmt(p)}  p95 ${fmt(percentile(processTimes, 95))}`);
console.log(`  ratio ${(p / s).toFixed(0)}x; the sql check saves ${fmt(p - s)} per check`);
