// The whole demo path (2023.1 -> 2024.1 -> 2025.1) at 1,000,000 orders (BENCH_ROWS): the built
// CLI's `leapfrog apply --to 2025.1` (ledger, lock, runner, process executor, progress parsing)
// vs a plain shell script running the same kit commands in sequence, on identical copies of the
// same seeded database, in one run. Target: apply / script <= 1.05.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { parse as parseYaml } from 'yaml';
import { seedDemoDatabase } from '../../src/demo/seed.js';
import { startEmbeddedServer } from '../../src/pg/embedded-server.js';
import { adminOf, templateCopier } from './bench-server.js';
import { fmt, median } from './stats.js';

const ROWS = Number(process.env['BENCH_ROWS'] ?? 1_000_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 1);
const REPO = resolve(import.meta.dirname, '../..');
const RELEASES = join(REPO, 'release-images');
const CLI = join(REPO, 'dist/cli/main.js');
// The same --max-count the runner substitutes for {batchSize} (all demo releases use one value).
const manifest = parseYaml(readFileSync(join(RELEASES, '2024.1/release.yaml'), 'utf8')) as {
  phases: { data: { batchSize: number } };
};
const BATCH_SIZE = manifest.phases.data.batchSize;

// What an operator without leapfrog would write: each stop's kit commands, data until done.
const SCRIPT = `#!/bin/sh
set -u
base_path="$PATH"
for release in 2024.1 2025.1; do
  cd "$RELEASES/$release" || exit 1
  PATH="$RELEASES/$release/bin:$base_path"
  leapfrog-kit check --json --preflight || exit 1
  leapfrog-kit schema || exit 1
  while :; do
    leapfrog-kit data --max-count "$BATCH_SIZE"
    rc=$?
    [ "$rc" -eq 1 ] || break
  done
  [ "$rc" -eq 0 ] || exit 1
  leapfrog-kit check --json || exit 1
done
`;

await using server = await startEmbeddedServer();
const admin = adminOf(server);
const work = await mkdtemp(join(tmpdir(), 'leapfrog-bench-'));
const script = join(work, 'upgrade.sh');
await writeFile(script, SCRIPT, { mode: 0o755 });

await admin('CREATE DATABASE path_src');
let t = performance.now();
await seedDemoDatabase(server.urlFor('path_src'), { rows: ROWS });
console.log(`seeded ${ROWS.toLocaleString('en-US')} orders in ${fmt(performance.now() - t)}`);
// Baselined in the template, so both copies carry the same (unused by the script) ledger.
await execa('node', [CLI, 'baseline', '--release', '2023.1', '--database-url', server.urlFor('path_src')], {
  cwd: REPO,
});
await admin('VACUUM ANALYZE');

const freshCopy = templateCopier(server, 'path_src');

async function viaApply(url: string): Promise<number> {
  const start = performance.now();
  const run = await execa('node', [CLI, 'apply', '--to', '2025.1', '--database-url', url], {
    cwd: REPO,
    reject: false,
  });
  const ms = performance.now() - start;
  if (run.exitCode !== 0) throw new Error(`apply exited ${run.exitCode}:\n${run.stderr.slice(-2000)}`);
  return ms;
}

async function viaScript(url: string): Promise<number> {
  const start = performance.now();
  const run = await execa(script, [], {
    env: { DATABASE_URL: url, RELEASES, BATCH_SIZE: String(BATCH_SIZE) },
    reject: false,
  });
  const ms = performance.now() - start;
  if (run.exitCode !== 0) throw new Error(`the script exited ${run.exitCode}:\n${run.stderr.slice(-2000)}`);
  return ms;
}

const applyTimes: number[] = [];
const scriptTimes: number[] = [];
try {
  for (let round = 0; round < ROUNDS; round += 1) {
    const a = await freshCopy();
    const b = await freshCopy();
    t = performance.now();
    if (round % 2 === 0) {
      applyTimes.push(await viaApply(a));
      scriptTimes.push(await viaScript(b));
    } else {
      scriptTimes.push(await viaScript(b));
      applyTimes.push(await viaApply(a));
    }
    console.log(`round ${round + 1}: apply ${fmt(applyTimes.at(-1) ?? 0)}, script ${fmt(scriptTimes.at(-1) ?? 0)}`);
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
const applyMs = median(applyTimes);
const scriptMs = median(scriptTimes);
// Each round's two runs share the machine's conditions; their ratio is the figure that counts.
const ratios = applyTimes.map((a, i) => a / (scriptTimes[i] ?? Number.NaN));
const ratio = median(ratios);
console.log(
  `\nrows: ${ROWS.toLocaleString('en-US')} orders, path 2023.1 -> 2024.1 -> 2025.1, ${ROUNDS} round(s) (medians)`,
);
console.log(`leapfrog apply:     ${fmt(applyMs)}`);
console.log(`plain shell script: ${fmt(scriptMs)}`);
console.log(`per-round ratios: ${ratios.map((r) => r.toFixed(3)).join(', ')}`);
console.log(
  `ratio apply/script (median of rounds): ${ratio.toFixed(3)} (target <= 1.05) ${ratio <= 1.05 ? 'MET' : 'NOT MET'}`,
);
