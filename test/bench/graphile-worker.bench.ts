// examples/graphile-worker's whole upgrade (0.11.4 -> 0.15.1 -> 0.18.0, graphile-worker's own
// --schema-only at each stop): the built CLI's `leapfrog apply --to 0.18.0 --no-backup` (ledger,
// lock, appVersion guard, toolchain guard, SQL preflight and checks in-process) vs a plain shell
// loop running the same migration commands, on template copies of the same database (0.11.4
// installed fresh, BENCH_JOBS jobs queued, baselined), interleaved in one run. Target: <= 1.25.
// A second script also runs the catalog's checks, the way a script would: one psql per stop.
// A third series is the floor: what any Node tool doing this job pays, with none of leapfrog's own
// work (Node, pg, the ledger's two connections and lock, the statements leapfrog writes per step
// and phase, the same commands spawned with piped output, the catalog's checks as one query each):
// how close to 1.25x any implementation on this machine could get.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { startEmbeddedServer } from '../../src/pg/embedded-server.js';
import { adminOf, bundleFloor, templateCopier } from './bench-server.js';
import { fmt, median } from './stats.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const JOBS = Number(process.env['BENCH_JOBS'] ?? 1000);
const REPO = resolve(import.meta.dirname, '../..');
const EXAMPLE = join(REPO, 'examples/graphile-worker');
const CLI = join(REPO, 'dist/cli/main.js');
const STOPS = ['0.15.1', '0.18.0'];

// What an operator without leapfrog would write: each stop's own migration command, in order.
const SCRIPT = `#!/bin/sh
set -u
for release in ${STOPS.join(' ')}; do
  cd "$EXAMPLE/$release" || exit 1
  ./node_modules/.bin/graphile-worker --schema-only || exit 1
done
`;

// The same, plus the catalog's checks as one psql per stop (the preflight of 0.15.1, the checks
// and the migration number of every stop), each failing the script when it returns a row.
const CHECKS = `
select 1 from graphile_worker.migrations m where m.id < (select max(id) from graphile_worker.migrations)
  and not exists (select 1 from graphile_worker.migrations n where n.id = m.id + 1)
union all select 1 where to_regprocedure('graphile_worker.add_job(text, json, text, timestamptz, integer, text, integer, text[], text)') is null
union all select 1 from graphile_worker.jobs where run_at is null or attempts > max_attempts
union all select 1 where (select max(id) from graphile_worker.migrations)::text <> :'expected'
`;
const SCRIPT_WITH_CHECKS = `#!/bin/sh
set -u
check() {
  rows=$(psql -X -q -At -v ON_ERROR_STOP=1 -v expected="$1" -d "$DATABASE_URL" -f "$WORK/checks.sql") || exit 1
  [ -z "$rows" ] || { echo "check failed at $1"; exit 3; }
}
locked=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -c "select id from graphile_worker.jobs where locked_at > now() - interval '4 hours' limit 1") || exit 1
[ -z "$locked" ] || exit 3
for stop in 0.15.1:14 0.18.0:20; do
  release=\${stop%%:*}
  cd "$EXAMPLE/$release" || exit 1
  ./node_modules/.bin/graphile-worker --schema-only || exit 1
  check "\${stop##*:}"
done
`;

// The floor (see the top): connect the ledger and lock sessions, take the lock, then per stop a
// statement for the step, two per phase (start, result), the command, and the catalog's checks
// plus the migration number as queries (0.15.1's preflight: its one query); then unlock.
const FLOOR = `
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
const [url, example] = process.argv.slice(2);
const checks = ${JSON.stringify(CHECKS.trim().split(/\nunion all /))}.map((q) => q.replace(":'expected'", '$1'));
const ledger = new pg.Client({ connectionString: url }), lock = new pg.Client({ connectionString: url });
await Promise.all([ledger.connect(), lock.connect()]);
await lock.query('SELECT pg_try_advisory_lock(42)');
await ledger.query('SELECT 1');
const preflight = "select id from graphile_worker.jobs where locked_at > now() - interval '4 hours' limit 10";
for (const [release, expected, phases] of [['0.15.1', '14', ['preflight', 'schema', 'check']], ['0.18.0', '20', ['schema', 'check']]]) {
  await ledger.query('SELECT 1');
  for (const phase of phases) {
    await ledger.query('SELECT 1');
    if (phase === 'schema') {
      await new Promise((resolve, reject) => {
        const child = spawn('./node_modules/.bin/graphile-worker', ['--schema-only'], {
          cwd: join(example, release), env: { ...process.env, DATABASE_URL: url }, stdio: ['ignore', 'pipe', 'pipe'],
        });
        child.stdout.on('data', () => {});
        child.stderr.on('data', () => {});
        child.on('error', reject).on('close', (code) => (code === 0 ? resolve() : reject(new Error('exit ' + code))));
      });
    } else {
      for (const check of phase === 'preflight' ? [preflight] : checks) {
        const { rows } = await ledger.query(check, check.includes('$1') ? [expected] : []);
        if (rows.length > 0) throw new Error('check failed at ' + release + ': ' + check);
      }
    }
    await ledger.query('SELECT 1');
  }
}
await lock.query('SELECT pg_advisory_unlock(42)');
await Promise.all([ledger.end(), lock.end()]);
`;

const installed = await execa('node', [CLI, 'toolchains', 'install', '--catalog', EXAMPLE], {
  cwd: REPO,
  reject: false,
});
if (installed.exitCode !== 0) throw new Error(`toolchains install exited ${installed.exitCode}:\n${installed.stderr}`);

await using server = await startEmbeddedServer();
const admin = adminOf(server);
const work = await mkdtemp(join(tmpdir(), 'leapfrog-bench-gw-'));
const script = join(work, 'upgrade.sh');
const scriptWithChecks = join(work, 'upgrade-checked.sh');
await writeFile(script, SCRIPT, { mode: 0o755 });
await writeFile(scriptWithChecks, SCRIPT_WITH_CHECKS, { mode: 0o755 });
await writeFile(join(work, 'checks.sql'), CHECKS);
const floor = await bundleFloor(work, FLOOR);

await admin('CREATE DATABASE gw_src');
const source = server.urlFor('gw_src');
const t = performance.now();
const fresh = await execa(join(EXAMPLE, '0.11.4/node_modules/.bin/graphile-worker'), ['--schema-only'], {
  cwd: join(EXAMPLE, '0.11.4'),
  env: { DATABASE_URL: source },
});
if (fresh.exitCode !== 0) throw new Error('0.11.4 --schema-only failed');
await execa('psql', [
  '-X',
  '-q',
  '-v',
  'ON_ERROR_STOP=1',
  '-d',
  source,
  '-c',
  `select graphile_worker.add_job('hello', json_build_object('n', n)) from generate_series(1, ${JOBS}) n`,
]);
// Baselined in the template, so every copy carries the same ledger (the scripts ignore it).
await execa('node', [CLI, 'baseline', '--release', '0.11.4', '--catalog', EXAMPLE, '--database-url', source], {
  cwd: REPO,
});
console.log(`0.11.4 installed fresh, ${JOBS} jobs queued, baselined in ${fmt(performance.now() - t)}`);
await admin('VACUUM ANALYZE');

const freshCopy = templateCopier(server, 'gw_src');

async function timed(what: string, file: string, args: string[], env: Record<string, string>): Promise<number> {
  const start = performance.now();
  const run = await execa(file, args, { cwd: REPO, env, reject: false });
  const ms = performance.now() - start;
  if (run.exitCode !== 0) throw new Error(`${what} exited ${run.exitCode}:\n${run.stderr.slice(-2000)}`);
  return ms;
}

const runs = {
  apply: (url: string) =>
    timed(
      'apply',
      'node',
      [CLI, 'apply', '--to', '0.18.0', '--no-backup', '--catalog', EXAMPLE, '--database-url', url],
      {},
    ),
  script: (url: string) => timed('the script', script, [], { DATABASE_URL: url, EXAMPLE }),
  checked: (url: string) =>
    timed('the script with checks', scriptWithChecks, [], { DATABASE_URL: url, EXAMPLE, WORK: work }),
  floor: (url: string) => timed('the floor', 'node', [floor, url, EXAMPLE], {}),
};
type Side = keyof typeof runs;
const times: Record<Side, number[]> = { apply: [], script: [], checked: [], floor: [] };
try {
  for (let round = 0; round < ROUNDS; round += 1) {
    // Rotate the order each round so no side always runs first (or on a warmer cache).
    const order = (['apply', 'script', 'checked', 'floor'] as const).map(
      (_, i, all) => all[(i + round) % all.length] as Side,
    );
    for (const side of order) times[side].push(await runs[side](await freshCopy()));
    console.log(
      `round ${round + 1}: apply ${fmt(times.apply.at(-1) ?? 0)}, script ${fmt(times.script.at(-1) ?? 0)}, script+psql checks ${fmt(times.checked.at(-1) ?? 0)}, floor ${fmt(times.floor.at(-1) ?? 0)}`,
    );
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
const ratios = times.apply.map((a, i) => a / (times.script[i] ?? Number.NaN));
const ratio = median(ratios);
const ratioChecked = median(times.apply.map((a, i) => a / (times.checked[i] ?? Number.NaN)));
const ratioFloor = median(times.floor.map((f, i) => f / (times.script[i] ?? Number.NaN)));
console.log(`\npath 0.11.4 -> ${STOPS.join(' -> ')}, ${JOBS} queued jobs, ${ROUNDS} round(s) (medians)`);
console.log(`leapfrog apply --no-backup:      ${fmt(median(times.apply))}`);
console.log(`plain shell loop (commands):     ${fmt(median(times.script))}`);
console.log(`shell loop + psql checks:        ${fmt(median(times.checked))}`);
console.log(`the floor (Node, pg, ledger statements, checks; no leapfrog): ${fmt(median(times.floor))}`);
console.log(`per-round ratios apply/script: ${ratios.map((r) => r.toFixed(3)).join(', ')}`);
console.log(
  `ratio apply/script (median of rounds): ${ratio.toFixed(3)} (target <= 1.25) ${ratio <= 1.25 ? 'MET' : 'NOT MET'}`,
);
console.log(`ratio apply/script with psql checks: ${ratioChecked.toFixed(3)}`);
console.log(
  `ratio floor/script: ${ratioFloor.toFixed(3)} (what any Node tool doing this job pays); leapfrog's own share ${fmt(median(times.apply) - median(times.floor))}`,
);
