// examples/graphile-worker as a release engineer and an operator use it: the built CLI on the real
// npm job queue graphile-worker (0.11.4 .. 0.18.0), its real migrations on the suite's real
// PostgreSQL. The toolchains are the real npm installs, kept in each release folder (git-ignored):
// the first run of a clean clone installs them, every later run finds the markers and skips.
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const EXAMPLE = join(ROOT, 'examples/graphile-worker');
const RELEASES = ['0.11.4', '0.13.0', '0.15.1', '0.16.6', '0.17.3', '0.18.0'];
const OLDEST = '0.11.4';
const NEWEST = '0.18.0';
/** Jobs the oldest release queues through its own SQL API before the upgrade. */
const JOBS = 20;

function leapfrog(args: string[], url: string | null) {
  return execa(
    'node',
    [CLI, ...args, '--catalog', EXAMPLE, ...(url === null ? [] : ['--database-url', url])],
    // No DATABASE_URL of the suite's own may reach the CLI: the URL is the flag's.
    { cwd: ROOT, reject: false, env: { NO_COLOR: '1', CI: '1', DATABASE_URL: '' } },
  );
}

/**
 * graphile-worker's own CLI from one release's toolchain, as an operator runs it: `--schema-only`
 * installs or migrates, `--once` runs every runnable job with the example's tasks/ and exits.
 */
function graphileWorker(release: string, args: string[], url: string, cwd = join(EXAMPLE, release)) {
  return execa(join(EXAMPLE, release, 'node_modules/.bin/graphile-worker'), args, {
    cwd,
    reject: false,
    env: { DATABASE_URL: url },
    all: true,
  });
}

/** The last JSON line of a verb's --output json (the summary or the error). */
function lastJson<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split('\n').pop() ?? 'null') as T;
}

async function migration(db: TestDatabase): Promise<number> {
  const rows = await db.query<{ id: number }>('SELECT max(id)::int AS id FROM graphile_worker.migrations');
  return rows[0]?.id ?? 0;
}

async function currentRelease(db: TestDatabase): Promise<string | undefined> {
  const rows = await db.query<{ release: string }>('SELECT release FROM leapfrog.state');
  return rows[0]?.release;
}

/** A database at the oldest release, installed fresh by its own migrator and baselined there. */
async function freshAtOldest(): Promise<TestDatabase> {
  const db = await createTestDatabase('gw');
  const install = await graphileWorker(OLDEST, ['--schema-only'], db.url);
  expect(install.exitCode, install.all).toBe(0);
  const adopted = await leapfrog(['baseline', '--release', OLDEST], db.url);
  expect(adopted.exitCode, adopted.stdout + adopted.stderr).toBe(0);
  return db;
}

let work: string;
const databases: TestDatabase[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'leapfrog-e2e-graphile-'));
});

afterAll(async () => {
  for (const db of databases) await db.drop();
  await rm(work, { recursive: true, force: true });
});

describe('examples/graphile-worker', () => {
  beforeAll(async () => {
    // The real npm installs, once per clean clone (npm's cache ~/.npm makes a re-install quick).
    const install = await leapfrog(['toolchains', 'install', '--output', 'json'], null);
    expect(install.exitCode, install.stdout + install.stderr).toBe(0);
    // Six `npm ci` on a clean clone: 1.5 min here when quiet, 2.5 min under the suite's load.
  }, 600_000);

  it('installs each toolchain once: a second install finds every marker current and skips', async () => {
    const again = await leapfrog(['toolchains', 'install', '--output', 'json'], null);
    expect(again.exitCode, again.stderr).toBe(0);
    const summary = lastJson<{ toolchains: { release: string; outcome: string }[] }>(again.stdout);
    expect(summary.toolchains.map((t) => `${t.release}:${t.outcome}`)).toEqual(
      RELEASES.map((r) => `${r}:already-installed`),
    );
  });

  it('walks the oldest release to the newest; the newest worker runs the jobs the oldest queued; a downgrade is refused', async () => {
    const db = await freshAtOldest();
    databases.push(db);
    expect(await migration(db)).toBe(8);
    // Queued through 0.11.4's own SQL API, as an application (or a trigger) does.
    await db.query(
      `SELECT graphile_worker.add_job('hello', json_build_object('n', n),
         queue_name => CASE WHEN n % 2 = 0 THEN 'sample' END,
         job_key => CASE WHEN n = 1 THEN 'sample-key' END)
       FROM generate_series(1, $1::int) n`,
      [JOBS],
    );

    const applied = await leapfrog(['apply', '--to', NEWEST, '--no-backup', '--output', 'json'], db.url);
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    const summary = lastJson<{ path: string[]; finalRelease: { release: string } }>(applied.stdout);
    // 0.15.1 is the catalog's required stop (the jobs-table rewrite); graphile-worker migrates the rest at once.
    expect(summary.path).toEqual(['0.15.1', NEWEST]);
    expect(summary.finalRelease.release).toBe(NEWEST);
    expect(await currentRelease(db)).toBe(NEWEST);
    expect(await migration(db)).toBe(20);
    const queued = await db.query<{ jobs: number; sample: number; keyed: number }>(
      `SELECT count(*)::int AS jobs, count(*) FILTER (WHERE queue_name = 'sample')::int AS sample,
              count(*) FILTER (WHERE key = 'sample-key')::int AS keyed
       FROM graphile_worker.jobs WHERE task_identifier = 'hello'`,
    );
    expect(queued[0]).toEqual({ jobs: JOBS, sample: JOBS / 2, keyed: 1 });

    // The newest worker, with the example application's tasks/, runs every job 0.11.4 queued.
    // `--once` exits when a fetch finds nothing runnable, and the jobs of the serial queue
    // "sample" wait behind the one running: each run drains part of that queue, so run it again
    // until the queue is empty (bounded), as an operator would.
    let completed = 0;
    for (let run = 0; run < JOBS && (await db.query('SELECT id FROM graphile_worker.jobs')).length > 0; run += 1) {
      const worker = await graphileWorker(NEWEST, ['--once'], db.url, EXAMPLE);
      expect(worker.exitCode, worker.all).toBe(0);
      expect(worker.all).not.toMatch(/with error|failed/i);
      completed += worker.all.match(/Completed task \d+ \(hello, [\d.]+ms\) with success/g)?.length ?? 0;
    }
    expect(completed).toBe(JOBS);
    expect(await db.query('SELECT id FROM graphile_worker.jobs')).toEqual([]);

    const downgrade = await leapfrog(['apply', '--to', '0.16.6', '--no-backup'], db.url);
    expect(downgrade.exitCode, downgrade.stdout + downgrade.stderr).toBe(5);
    expect(downgrade.stderr).toContain('0.16.6');
    expect(await currentRelease(db)).toBe(NEWEST);
  });

  it("stops red at 0.15.1's SQL preflight while a worker holds a job (migration 000011 would abort), then goes on once it is released", async () => {
    const db = await freshAtOldest();
    databases.push(db);
    await db.query("SELECT graphile_worker.add_job('hello', json_build_object('n', 1))");
    // A 0.11.4 worker is mid-job: graphile-worker's own lock columns.
    await db.query("UPDATE graphile_worker.jobs SET locked_at = now(), locked_by = 'worker-old'");

    const red = await leapfrog(['apply', '--to', NEWEST, '--no-backup'], db.url);
    expect(red.exitCode, red.stdout + red.stderr).toBe(3);
    expect(red.stdout + red.stderr).toContain('no job is locked by a running worker');
    expect(red.stdout + red.stderr).toContain('worker-old');
    // Nothing migrated: the preflight runs before the schema command.
    expect(await migration(db)).toBe(8);
    expect(await currentRelease(db)).toBe(OLDEST);

    await db.query('UPDATE graphile_worker.jobs SET locked_at = NULL, locked_by = NULL');
    const applied = await leapfrog(['apply', '--to', NEWEST, '--no-backup'], db.url);
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    expect(await migration(db)).toBe(20);
  });

  it('refuses drift: a newer worker migrated the database behind leapfrog, apply and step exit 6 naming the releases', async () => {
    const db = await freshAtOldest();
    databases.push(db);
    // A 0.13.0 worker started by someone else migrates the schema on start (8 -> 10).
    const behind = await graphileWorker('0.13.0', ['--schema-only'], db.url);
    expect(behind.exitCode, behind.all).toBe(0);
    expect(await migration(db)).toBe(10);

    const applied = await leapfrog(['apply', '--to', NEWEST, '--no-backup'], db.url);
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(6);
    // The ledger's release, what the application says, and the release that matches it.
    expect(applied.stderr).toContain(OLDEST);
    expect(applied.stderr).toContain('0.13.0');

    const planFile = join(work, 'drift-plan.json');
    const planned = await leapfrog(['plan', '--from', OLDEST, '--to', NEWEST, '--out', planFile], null);
    expect(planned.exitCode, planned.stderr).toBe(0);
    const stepped = await leapfrog(['step', '--plan', planFile, '--no-backup'], db.url);
    expect(stepped.exitCode, stepped.stdout + stepped.stderr).toBe(6);
    expect(stepped.stderr).toContain('0.13.0');
    // Nothing ran: the ledger still says 0.11.4, the schema is where the other worker left it.
    expect(await currentRelease(db)).toBe(OLDEST);
    expect(await migration(db)).toBe(10);
  });

  it('validate --rehearse refuses a missing toolchain before anything runs (exit 2), naming the install command', async () => {
    // The marker is what `toolchains install` leaves once npm ci succeeded; without it the
    // toolchain is missing. Put back afterwards, so the cached install stays usable.
    const marker = join(EXAMPLE, NEWEST, '.leapfrog-toolchain.json');
    await rename(marker, `${marker}.aside`);
    try {
      const result = await leapfrog(['validate', '--rehearse'], null);
      expect(result.exitCode, result.stdout + result.stderr).toBe(2);
      expect(result.stderr).toContain(`the toolchain of ${NEWEST} (local.install: npm ci`);
      expect(result.stderr).toContain(`leapfrog toolchains install --release ${NEWEST}`);
      expect(result.stderr).not.toContain('rehearsing');
    } finally {
      await rename(`${marker}.aside`, marker);
    }
  });

  it('validate --rehearse installs the oldest release fresh, seeds jobs and proves every path to the newest', async () => {
    const junit = join(work, 'rehearse.xml');
    const result = await leapfrog(['validate', '--rehearse', '--junit', junit, '--output', 'json'], null);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const report = lastJson<{ ok: boolean; rehearsals: { from: string; to: string; ok: boolean; path: string[] }[] }>(
      result.stdout,
    );
    expect(report.rehearsals.map((r) => `${r.from}->${r.to}:${r.ok}`)).toEqual(
      RELEASES.slice(0, -1).map((r) => `${r}->${NEWEST}:true`),
    );
    expect(report.rehearsals[0]?.path).toEqual(['0.15.1', NEWEST]);
  });
});

describe('validate --rehearse on a catalog that does not say how to install its releases', () => {
  it.each([
    ['noop', 'no release has `fresh`'],
    // A release called 2023.1 does not make a catalog the demo: the demo seed does not fit it.
    ['runner-basic', 'the demo seed at 2023.1 does not fit it'],
  ])('%s: exit 2, naming the field to add', async (fixture, reason) => {
    const result = await execa(
      'node',
      [CLI, 'validate', '--rehearse', '--catalog', join(ROOT, 'test/fixtures/catalogs', fixture)],
      { cwd: ROOT, reject: false, env: { NO_COLOR: '1', CI: '1' } },
    );
    expect(result.exitCode, result.stdout + result.stderr).toBe(2);
    expect(result.stderr).toContain(reason);
    expect(result.stderr).toMatch(/next: add `fresh: \{ run: \[/);
  });
});
