// At 1,000,000 orders (BENCH_ROWS): the kit's batched, online data migration
// (backfill_order_total_cents of 2024.1, run through the real bin/leapfrog-kit exactly as the
// runner runs it: `data --max-count <manifest batchSize>` again and again until exit 0) vs one
// set-based UPDATE doing the same work, on identical copies of the same data, in one run.
// Targets: throughput ratio >= 0.8; longest single batch transaction < 200 ms.
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import { seedDemoDatabase } from '../../src/demo/seed.js';
import { loadReleaseTree } from '../../src/kit/release-tree.js';
import { applySchema } from '../../src/kit/schema-command.js';
import { runDataMigrations } from '../../src/kit/data-command.js';
import { startEmbeddedServer } from '../../src/pg/embedded-server.js';
import { adminOf, templateCopier } from './bench-server.js';
import { fmt, median } from './stats.js';

const ROWS = Number(process.env['BENCH_ROWS'] ?? 1_000_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);
const REPO = resolve(import.meta.dirname, '../..');
const RELEASES = join(REPO, 'release-images');
const KIT_BUNDLE = join(REPO, 'dist/kit/leapfrog-kit.mjs');
const manifest = parseYaml(readFileSync(join(RELEASES, '2024.1/release.yaml'), 'utf8')) as {
  phases: { data: { batchSize: number } };
};
const BATCH_SIZE = Number(process.env['BENCH_MAX_COUNT'] ?? manifest.phases.data.batchSize);
const TX_ROWS = process.env['BENCH_TRANSACTION_ROWS'];

await using server = await startEmbeddedServer();
const admin = adminOf(server);

// The template: 2023.1 seeded, 2024.1's schema applied, 2023.2's customer backfills done, so
// that what remains is exactly the orders backfill both sides will do.
await admin('CREATE DATABASE bench_src');
const srcUrl = server.urlFor('bench_src');
let t = performance.now();
await seedDemoDatabase(srcUrl, { rows: ROWS });
console.log(`seeded ${ROWS.toLocaleString('en-US')} orders in ${fmt(performance.now() - t)}`);
{
  const client = new pg.Client({ connectionString: srcUrl });
  await client.connect();
  const tree = await loadReleaseTree(RELEASES, '2024.1');
  await applySchema(client, tree, () => undefined);
  await runDataMigrations(
    client,
    { ...tree, dataMigrations: tree.dataMigrations.filter((d) => d.table === 'customers') },
    {
      maxCount: Number.MAX_SAFE_INTEGER,
      transactionRows: 5000,
      onProgress: () => undefined,
      log: () => undefined,
    },
  );
  await client.query('VACUUM ANALYZE');
  await client.end();
}

const freshCopy = templateCopier(server, 'bench_src');

async function setBased(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const start = performance.now();
    const r = await client.query('UPDATE orders SET total_cents = (total * 100)::bigint WHERE total_cents IS NULL');
    const ms = performance.now() - start;
    if (r.rowCount !== ROWS) throw new Error(`set-based UPDATE touched ${r.rowCount} rows, expected ${ROWS}`);
    return ms;
  } finally {
    await client.end();
  }
}

interface KitFigures {
  ms: number;
  invocations: number;
  longestTxMs: number;
  p95TxMs: number;
  transactions: number;
}

async function viaKit(url: string): Promise<KitFigures> {
  const dir = join(RELEASES, '2024.1');
  const env = {
    DATABASE_URL: url,
    LEAPFROG_KIT_BUNDLE: KIT_BUNDLE,
    PATH: `${join(dir, 'bin')}:${process.env['PATH'] ?? ''}`,
    ...(TX_ROWS === undefined ? {} : { LEAPFROG_KIT_TRANSACTION_ROWS: TX_ROWS }),
  };
  let invocations = 0;
  let longest = 0;
  let p95 = 0;
  let transactions = 0;
  const start = performance.now();
  for (;;) {
    const run = await execa('leapfrog-kit', ['data', '--max-count', String(BATCH_SIZE)], {
      cwd: dir,
      env,
      reject: false,
    });
    invocations += 1;
    const m = /in (\d+) transactions \(longest (\d+) ms, p95 (\d+) ms\)/.exec(run.stderr);
    if (m) {
      transactions += Number(m[1]);
      longest = Math.max(longest, Number(m[2]));
      p95 = Math.max(p95, Number(m[3]));
    }
    if (run.exitCode === 0) break;
    if (run.exitCode !== 1) throw new Error(`leapfrog-kit data exited ${run.exitCode}: ${run.stderr}`);
  }
  const ms = performance.now() - start;
  const check = new pg.Client({ connectionString: url });
  await check.connect();
  const wrong = await check.query<{ n: string }>(
    'SELECT count(*) AS n FROM orders WHERE total_cents IS DISTINCT FROM (total * 100)::bigint',
  );
  await check.end();
  if (Number(wrong.rows[0]?.n) !== 0) throw new Error('the kit left orders unmigrated');
  return { ms, invocations, longestTxMs: longest, p95TxMs: p95, transactions };
}

const setTimes: number[] = [];
const kitRuns: KitFigures[] = [];
for (let round = 0; round < ROUNDS; round += 1) {
  // Alternate which side goes first, so neither always gets the warmer cache.
  const a = await freshCopy();
  const b = await freshCopy();
  if (round % 2 === 0) {
    setTimes.push(await setBased(a));
    kitRuns.push(await viaKit(b));
  } else {
    kitRuns.push(await viaKit(b));
    setTimes.push(await setBased(a));
  }
  t = performance.now();
  console.log(
    `round ${round + 1}: set-based ${fmt(setTimes.at(-1) ?? 0)}, kit ${fmt(kitRuns.at(-1)?.ms ?? 0)} (${kitRuns.at(-1)?.invocations} invocations)`,
  );
}

const setMs = median(setTimes);
const kitMs = median(kitRuns.map((k) => k.ms));
const longest = Math.max(...kitRuns.map((k) => k.longestTxMs));
const ratio = setMs / kitMs;
console.log(
  `\nrows: ${ROWS.toLocaleString('en-US')} orders; --max-count ${BATCH_SIZE} per invocation; ${TX_ROWS ?? 'default'} rows per transaction; ${ROUNDS} rounds (medians)`,
);
console.log(
  `set-based UPDATE:      ${fmt(setMs)}  (${Math.round(ROWS / (setMs / 1000)).toLocaleString('en-US')} rows/s)`,
);
console.log(
  `kit batched (online):  ${fmt(kitMs)}  (${Math.round(ROWS / (kitMs / 1000)).toLocaleString('en-US')} rows/s), ${kitRuns[0]?.invocations} invocations, ${kitRuns[0]?.transactions} transactions`,
);
console.log(`throughput ratio kit/set-based: ${ratio.toFixed(2)} (target >= 0.8) ${ratio >= 0.8 ? 'MET' : 'NOT MET'}`);
console.log(
  `longest batch transaction: ${longest} ms (target < 200 ms) ${longest < 200 ? 'MET' : 'NOT MET'}; worst per-invocation p95: ${Math.max(...kitRuns.map((k) => k.p95TxMs))} ms`,
);
