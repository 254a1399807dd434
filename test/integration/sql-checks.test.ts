// The manifest's SQL on a REAL PostgreSQL, through runPlan with the real PostgresLedger and its
// own session's SqlProbe (as `apply` runs it): sql checks green/red/warning with their rows as
// details, the statement timeout, a write refused by READ ONLY, and data.until gates reaching 0
// while another connection does the work, stalling, and stopped by Ctrl-C.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { Catalog } from '../../src/catalog/release.js';
import { CheckRedError, InterruptedError, PhaseFailedError } from '../../src/errors/index.js';
import { ProcessExecutor } from '../../src/executors/process-executor.js';
import { openPostgresLedger } from '../../src/ledger/open-ledger.js';
import type { PostgresLedger } from '../../src/ledger/postgres-ledger.js';
import { databaseTargetFromUrl } from '../../src/pg/database-target.js';
import { planPath } from '../../src/planner/plan-path.js';
import type { RunnerEvent } from '../../src/runner/events.js';
import { runPlan } from '../../src/runner/run-plan.js';
import type { RunResult } from '../../src/runner/run-result.js';
import { catalogBuilder, type ReleaseFields } from '../helpers/catalog-builder.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Harness {
  db: TestDatabase;
  ledger: PostgresLedger;
  run: (
    target: ReleaseFields,
    options?: { signal?: AbortSignal },
  ) => Promise<{ result: RunResult; events: RunnerEvent[] }>;
}

/** A database at release 1.0 with a ledger, and a way to run one step to 1.1 made of SQL only. */
async function harness(prefix: string): Promise<Harness> {
  const db = await createTestDatabase(prefix);
  cleanups.push(() => db.drop());
  const target = databaseTargetFromUrl(db.url);
  const ledger = await openPostgresLedger(target, { schema: 'leapfrog', migrate: true });
  if (ledger === null) throw new Error('no ledger');
  cleanups.push(() => ledger[Symbol.asyncDispose]());
  await ledger.setCurrentRelease({ release: '1.0', version: '1.0.0' });
  const run = async (fields: ReleaseFields, options: { signal?: AbortSignal } = {}) => {
    const catalog: Catalog = catalogBuilder('/sql').release('1.0', { phases: {} }).release('1.1', fields).build();
    const events: RunnerEvent[] = [];
    const result = await runPlan({
      plan: planPath(catalog, '1.0', '1.1'),
      planDigest: 'sha256:test',
      catalog,
      ledger,
      // Never invoked: every phase of these releases is SQL.
      executor: new ProcessExecutor(),
      mode: 'apply',
      database: { url: target.url },
      secrets: target.secrets,
      signal: options.signal ?? new AbortController().signal,
      onEvent: (e) => events.push(e),
      sqlProbe: ledger.sqlProbe(target.secrets),
    });
    return { result, events };
  };
  return { db, ledger, run };
}

const checkPhase = (sql: { name: string; query: string; severity?: string }[]) => ({ phases: { check: { sql } } });

describe('sql checks on a real PostgreSQL', () => {
  it('green, warning and red: rows are the details, shown per check and recorded in the ledger; red does not advance', async () => {
    const { db, ledger, run } = await harness('sqlcheck_red');
    await db.query('CREATE TABLE jobs (id int PRIMARY KEY, state text NOT NULL)');
    await db.query(
      `INSERT INTO jobs SELECT g, CASE WHEN g % 2 = 0 THEN 'stuck' ELSE 'done' END FROM generate_series(1, 10) g`,
    );
    const { result, events } = await run(
      checkPhase([
        { name: 'jobs table present', query: "select 'jobs is missing' where to_regclass('public.jobs') is null" },
        {
          name: 'no odd states',
          query: "select id from jobs where state not in ('done', 'stuck')",
          severity: 'warning',
        },
        {
          name: 'stuck jobs (warning)',
          query: "select id, state from jobs where state = 'stuck' order by id limit 1",
          severity: 'warning',
        },
        { name: 'no stuck jobs', query: "select id, state from jobs where state = 'stuck' order by id" },
      ]),
    );
    expect(result.error).toBeInstanceOf(CheckRedError);
    expect(result.error?.exitCode).toBe(3);
    expect(events.flatMap((e) => (e.type === 'check-result' ? [[e.check, e.result, e.details]] : []))).toEqual([
      ['jobs table present', 0, null],
      ['no odd states', 0, null],
      ['stuck jobs (warning)', 1, 'id=2, state=stuck'],
      ['no stuck jobs', 2, '(id=2, state=stuck); (id=4, state=stuck); (id=6, state=stuck); and 2 more rows'],
    ]);
    expect((await ledger.currentRelease())?.release).toBe('1.0');
    const [row] = await db.query<{
      status: string;
      exit_code: number | null;
      attempts: number;
      details: { checks: unknown[] };
    }>("SELECT status, exit_code, attempts, details FROM leapfrog.phases WHERE phase = 'check'");
    expect(row).toMatchObject({ status: 'failed', exit_code: null, attempts: 1 });
    expect(row?.details.checks).toHaveLength(4);

    // Fixed behind leapfrog's back: the same step is green now and advances.
    await db.query("UPDATE jobs SET state = 'done'");
    const again = await run(
      checkPhase([{ name: 'no stuck jobs', query: "select id, state from jobs where state = 'stuck' order by id" }]),
    );
    expect(again.result.status).toBe('succeeded');
    expect((await ledger.currentRelease())?.release).toBe('1.1');
  });

  it('a probe timeout longer than statement_timeout holds (30 days) runs the query; the session goes on', async () => {
    const { db, ledger } = await harness('sqlcheck_long');
    const probe = ledger.sqlProbe(databaseTargetFromUrl(db.url).secrets);
    expect(await probe.query('select 1 as one', 30 * 24 * 3_600_000)).toEqual({ columns: ['one'], rows: [{ one: 1 }] });
    // The probe runs on the ledger's own session: a transaction left aborted would fail this.
    await ledger.setCurrentRelease({ release: '1.1', version: '1.1.0' });
    expect((await ledger.currentRelease())?.release).toBe('1.1');
  });

  it('a query over the statement timeout is a failed phase (exit 1), not a red light, and returns within the budget', async () => {
    const { run } = await harness('sqlcheck_timeout');
    const started = performance.now();
    const { result } = await run({
      ...checkPhase([{ name: 'slow', query: 'select 1 from pg_sleep(10)' }]),
      timeouts: { check: '1s' },
    });
    expect(result.error).toBeInstanceOf(PhaseFailedError);
    expect(result.error?.message).toContain(
      'release 1.1, phase check failed: sql check "slow" gave no verdict: timed out',
    );
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('a check that tries to write is refused by the READ ONLY transaction and changes nothing', async () => {
    const { db, run } = await harness('sqlcheck_write');
    await db.query('CREATE TABLE t (id int)');
    const { result } = await run(checkPhase([{ name: 'sneaky', query: 'insert into t values (1) returning id' }]));
    expect(result.error).toBeInstanceOf(PhaseFailedError);
    expect(result.error?.message).toContain(
      'sql check "sneaky" gave no verdict: cannot execute INSERT in a read-only transaction',
    );
    expect(await db.query('SELECT * FROM t')).toEqual([]);
  });

  it('a check of several statements cannot end the READ ONLY transaction and write after it', async () => {
    const { db, run } = await harness('sqlcheck_multi');
    await db.query('CREATE TABLE t (id int)');
    const { result } = await run(
      checkPhase([{ name: 'two statements', query: 'select 1 where false; commit; insert into t values (1)' }]),
    );
    expect(result.error).toBeInstanceOf(PhaseFailedError);
    expect(result.error?.message).toContain(
      'sql check "two statements" gave no verdict: cannot insert multiple commands into a prepared statement',
    );
    expect(await db.query('SELECT * FROM t')).toEqual([]);
  });
});

describe('data.until gates on a real PostgreSQL', () => {
  const gate = (pollMs: number, stallAfter = 3) => ({
    phases: {
      data: { until: { sql: "select count(*) from jobs where state <> 'done'", poll: `${pollMs}ms` }, stallAfter },
    },
  });

  async function withJobs(db: TestDatabase, n: number): Promise<void> {
    await db.query('CREATE TABLE jobs (id int PRIMARY KEY, state text NOT NULL)');
    await db.query(`INSERT INTO jobs SELECT g, 'pending' FROM generate_series(1, ${n}) g`);
  }

  it('waits while another connection (the application’s workers) does the work, showing remaining, until 0', async () => {
    const { db, ledger, run } = await harness('gate_zero');
    await withJobs(db, 40);
    const worker = new pg.Client({ connectionString: db.url });
    await worker.connect();
    cleanups.push(() => worker.end());
    const timer = setInterval(() => {
      void worker.query(
        "UPDATE jobs SET state = 'done' WHERE id IN (SELECT id FROM jobs WHERE state <> 'done' ORDER BY id LIMIT 5)",
      );
    }, 60);
    cleanups.push(() => Promise.resolve(clearInterval(timer)));
    const { result, events } = await run(gate(50, 20));
    clearInterval(timer);
    expect(result.status).toBe('succeeded');
    const remaining = events.flatMap((e) => (e.type === 'progress' ? [e.remaining] : []));
    expect(remaining.length).toBeGreaterThan(2);
    expect(remaining.at(-1)).toBe(0);
    expect(remaining[0]).toBeGreaterThan(0);
    expect([...remaining].sort((a, b) => b - a)).toEqual(remaining);
    expect((await ledger.currentRelease())?.release).toBe('1.1');
    const [row] = await db.query<{ status: string; exit_code: number | null; details: { polls: number } }>(
      "SELECT status, exit_code, details FROM leapfrog.phases WHERE phase = 'data'",
    );
    expect(row).toMatchObject({ status: 'succeeded', exit_code: null });
    expect(row?.details.polls).toBe(remaining.length);
  });

  it('stallAfter polls without a decrease fail the phase naming the count', async () => {
    const { db, ledger, run } = await harness('gate_stall');
    await withJobs(db, 3);
    const { result } = await run(gate(20, 3));
    expect(result.error).toBeInstanceOf(PhaseFailedError);
    expect(result.error?.message).toContain('data.until still counts 3 remaining after 3 polls in a row');
    expect((await ledger.currentRelease())?.release).toBe('1.0');
  });

  it('Ctrl-C during the wait: interrupted (exit 130), recorded as interrupted, at once', async () => {
    const { db, run } = await harness('gate_abort');
    await withJobs(db, 3);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = performance.now();
    const { result } = await run(gate(30_000, 100), { signal: controller.signal });
    expect(result.error).toBeInstanceOf(InterruptedError);
    expect(result.error?.exitCode).toBe(130);
    expect(performance.now() - started).toBeLessThan(5000);
    const [row] = await db.query<{ status: string }>("SELECT status FROM leapfrog.phases WHERE phase = 'data'");
    expect(row?.status).toBe('interrupted');
  });
});
