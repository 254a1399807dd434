// Backup, restore and rehearsal copies of the 1,000,000-row demo database (issue 6), measured
// side by side in one run on one embedded PostgreSQL 15 server:
// - pg_dump custom format vs directory format with 2 jobs (time and size);
// - pg_restore of each (custom in one transaction, directory with 2 jobs);
// - a rehearsal copy by CREATE DATABASE … TEMPLATE vs by dump + restore.
// The defaults (--backup-jobs, rehearse --clone advice) are chosen from these ratios: see
// docs/benchmarks.md. `BENCH_ROWS=100000 npm run bench -- backup` for a quick run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { resolvePgTools } from '../../src/backup/pg-tools.js';
import { locateBackup } from '../../src/backup/backup-store.js';
import { restoreBackup } from '../../src/backup/restore-backup.js';
import { prepareBackup, takeBackup } from '../../src/backup/take-backup.js';
import type { BackupRecord } from '../../src/backup/backup-store.js';
import { formatBytes } from '../../src/backup/format-backup.js';
import { seedDemoDatabase } from '../../src/demo/seed.js';
import { databaseTargetFromUrl } from '../../src/pg/database-target.js';
import { startEmbeddedServer } from '../../src/pg/embedded-server.js';
import { cloneDatabase } from '../../src/rehearse/scratch-database.js';
import { fmt, median } from './stats.js';

const ROWS = Number(process.env['BENCH_ROWS'] ?? 1_000_000);
const REPEATS = Number(process.env['BENCH_REPEATS'] ?? 3);

await using server = await startEmbeddedServer();
const admin = new pg.Client({ connectionString: server.adminUrl });
await admin.connect();
const dir = await mkdtemp(join(tmpdir(), 'lf-bench-backup-'));
let scratch = 0;
const freshName = () => `scratch_${scratch++}`;
const drop = (name: string) => admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);

try {
  await admin.query('CREATE DATABASE app');
  const target = databaseTargetFromUrl(server.urlFor('app'));
  const seeded = await seedDemoDatabase(target.url, { rows: ROWS });
  await admin.query('CHECKPOINT');
  const size = await admin.query<{ size: string }>("SELECT pg_size_pretty(pg_database_size('app')) AS size");
  console.log(
    `demo database: ${seeded.orders.toLocaleString('en-US')} orders, ${seeded.customers.toLocaleString('en-US')} customers, ${size.rows[0]?.size ?? '?'} on disk (seeded in ${fmt(seeded.durationMs)}); ${REPEATS} runs each, medians`,
  );

  const tools = await resolvePgTools(undefined, {});
  const custom = await prepareBackup(target, { dir, format: 'custom', jobs: 1, tools });
  const directory = await prepareBackup(target, { dir, format: 'directory', jobs: 2, tools });
  const label = { release: '2023.1', version: '2023.1.0', runId: null };

  const dumpCustom: number[] = [];
  const dumpDirectory: number[] = [];
  const restoreCustom: number[] = [];
  const restoreDirectory: number[] = [];
  const clone: number[] = [];
  let lastCustom: BackupRecord | undefined;
  let lastDirectory: BackupRecord | undefined;
  for (let i = 0; i < REPEATS; i++) {
    // Interleaved, so every method sees the same machine load and cache state.
    lastCustom = await takeBackup(custom, label, new Date(Date.now() + i));
    dumpCustom.push(lastCustom.durationMs);
    lastDirectory = await takeBackup(directory, label, new Date(Date.now() + 1000 + i));
    dumpDirectory.push(lastDirectory.durationMs);

    for (const [record, series, jobs] of [
      [lastCustom, restoreCustom, 1],
      [lastDirectory, restoreDirectory, 2],
    ] as const) {
      const name = freshName();
      const into = databaseTargetFromUrl(server.urlFor(name));
      const outcome = await restoreBackup({
        backup: await locateBackup(record.path, dir),
        target: into,
        tools,
        yes: false,
        create: true,
        jobs,
      });
      series.push(outcome.durationMs);
      await drop(name);
    }

    const name = freshName();
    const start = performance.now();
    await cloneDatabase(target, name);
    clone.push(performance.now() - start);
    await drop(name);
  }

  const dc = median(dumpCustom);
  const dd = median(dumpDirectory);
  const rc = median(restoreCustom);
  const rd = median(restoreDirectory);
  const cl = median(clone);
  console.log(`pg_dump custom (1 file):          ${fmt(dc)}  ${formatBytes(lastCustom?.bytes ?? 0)}`);
  console.log(
    `pg_dump directory, 2 jobs:        ${fmt(dd)}  ${formatBytes(lastDirectory?.bytes ?? 0)}   directory/custom = ${(dd / dc).toFixed(2)}x`,
  );
  console.log(`pg_restore custom (1 transaction): ${fmt(rc)}`);
  console.log(`pg_restore directory, 2 jobs:     ${fmt(rd)}   directory/custom = ${(rd / rc).toFixed(2)}x`);
  console.log(`rehearsal copy by dump+restore:   ${fmt(dc + rc)} (custom)`);
  console.log(`rehearsal copy by TEMPLATE clone: ${fmt(cl)}   dump+restore/clone = ${((dc + rc) / cl).toFixed(1)}x`);
} finally {
  await admin.end();
  await rm(dir, { recursive: true, force: true });
}
