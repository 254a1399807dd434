// The runner's issue-11 dispatch against the recording fake executor and a fake SqlProbe: SQL
// checks (order, severity, details, query errors), appVersion in the check, data.until gates,
// exit-code maps and per-command env. The same SQL on a real PostgreSQL:
// test/integration/sql-checks.test.ts.
import { describe, expect, it } from 'vitest';
import type { Catalog, Release, ReleasePhases } from '../../src/catalog/release.js';
import { formatRows } from '../../src/checks/sql-checks.js';
import { SqlProbeError, type SqlProbe, type SqlRows } from '../../src/checks/sql-probe.js';
import { CheckRedError, InterruptedError, PhaseFailedError } from '../../src/errors/index.js';
import type { Plan } from '../../src/planner/plan.js';
import type { RunnerEvent } from '../../src/runner/events.js';
import { runPlan, type RunPlanOptions } from '../../src/runner/run-plan.js';
import { FakeExecutor, type FakeBehaviour } from '../helpers/fake-executor.js';
import { MemoryLedger } from '../helpers/memory-ledger.js';

type Answer = SqlRows | Error | (() => SqlRows | Error);

/** Answers each query by its text; records every query with its statement timeout. */
class FakeProbe implements SqlProbe {
  readonly queries: { sql: string; timeoutMs: number }[] = [];
  constructor(
    private readonly answers: Record<string, Answer | Answer[]>,
    private readonly onQuery: (sql: string) => void = () => undefined,
  ) {}

  query(sql: string, timeoutMs: number): Promise<SqlRows> {
    this.queries.push({ sql, timeoutMs });
    this.onQuery(sql);
    const entry = this.answers[sql];
    if (entry === undefined) return Promise.reject(new Error(`unexpected query ${sql}`));
    const nth = this.queries.filter((q) => q.sql === sql).length - 1;
    const answer = Array.isArray(entry) ? (entry[Math.min(nth, entry.length - 1)] as Answer) : entry;
    const value = typeof answer === 'function' ? answer() : answer;
    return value instanceof Error ? Promise.reject(value) : Promise.resolve(value);
  }
}

const none: SqlRows = { columns: ['problem'], rows: [] };
const rows = (...values: string[]): SqlRows => ({ columns: ['problem'], rows: values.map((problem) => ({ problem })) });
const count = (n: number): SqlRows => ({ columns: ['count'], rows: [{ count: String(n) }] });

function release(id: string, phases: ReleasePhases, extra: Partial<Release> = {}): Release {
  return {
    id,
    version: `${id}.0`,
    upgradeFrom: '*',
    upgradeFromIsDefault: true,
    entry: false,
    milestone: false,
    yanked: false,
    env: { RELEASE_ENV: id, SHARED: 'release' },
    phases,
    timeoutsMs: { preflight: 1000, schema: 2000, data: 3000, check: 4000 },
    dir: `/releases/${id}`,
    file: `releases/${id}/release.yaml`,
    manifestDigest: `sha256:${id}`,
    ...extra,
  };
}

const schema: ReleasePhases['schema'] = [{ name: 'db', run: ['migrate'], protocol: 'exit0', env: {} }];

function setup(target: Release, probe: SqlProbe | undefined, behaviour?: FakeBehaviour) {
  const from = release('1.0', { schema });
  const catalog: Catalog = { dir: '/releases', releases: [from, target], digest: 'sha256:cat' };
  const plan: Plan = {
    planVersion: 1,
    from: { release: from.id, version: from.version },
    to: { release: target.id, version: target.version },
    steps: [
      {
        release: target.id,
        version: target.version,
        image: null,
        imageDigest: null,
        manifestDigest: target.manifestDigest,
        reasons: [],
      },
    ],
    catalogDigest: 'sha256:cat',
  };
  const ledger = new MemoryLedger({ release: from.id, version: from.version });
  const executor = new FakeExecutor(behaviour);
  const events: RunnerEvent[] = [];
  const controller = new AbortController();
  const options: RunPlanOptions = {
    plan,
    planDigest: 'sha256:plan',
    catalog,
    ledger,
    executor,
    mode: 'apply',
    database: { url: 'postgres://u:pw@h/db' },
    secrets: ['postgres://u:pw@h/db', 'pw'],
    signal: controller.signal,
    onEvent: (e) => events.push(e),
    ...(probe === undefined ? {} : { sqlProbe: probe }),
  };
  return { ledger, executor, events, controller, run: () => runPlan(options) };
}

const checkResults = (events: RunnerEvent[]) =>
  events.flatMap((e) => (e.type === 'check-result' ? [`${e.phase} ${e.check}=${e.result}`] : []));

describe('sql checks', () => {
  it('run in manifest order before the command; green with no rows; the command then runs', async () => {
    const order: string[] = [];
    const probe = new FakeProbe({ 'select a': none, 'select b': none }, (sql) => order.push(sql));
    const target = release('1.1', {
      schema,
      check: {
        run: ['check'],
        protocol: 'exit0',
        env: {},
        sql: [
          { name: 'a present', query: 'select a', severity: 'failure' },
          { name: 'b present', query: 'select b', severity: 'failure' },
        ],
      },
    });
    const { ledger, executor, events, run } = setup(target, probe, (call) => {
      order.push(call.command.join(' '));
      return { exitCode: 0 };
    });
    const result = await run();
    expect(result.status).toBe('succeeded');
    expect(order).toEqual(['migrate', 'select a', 'select b', 'check']);
    expect(executor.calls.map((c) => c.phase)).toEqual(['schema', 'check']);
    expect(checkResults(events)).toEqual(['check a present=0', 'check b present=0']);
    expect(ledger.state?.release).toBe('1.1');
    // Every query's statement timeout is what is left of the check's 4 s, never more.
    for (const q of probe.queries) expect(q.timeoutMs).toBeGreaterThan(3000);
    for (const q of probe.queries) expect(q.timeoutMs).toBeLessThanOrEqual(4000);
  });

  it('a failure check that returns rows is red (exit 3): rows are the details, the command does not run, nothing advances', async () => {
    const probe = new FakeProbe({
      'select missing': rows('pgboss.schedule is missing'),
      'select many': rows('r1', 'r2', 'r3', 'r4', 'r5'),
    });
    const target = release('1.1', {
      schema,
      check: {
        run: ['check'],
        protocol: 'upgradecheck',
        env: {},
        sql: [
          { name: 'schedule table', query: 'select missing', severity: 'failure' },
          { name: 'orphans', query: 'select many', severity: 'failure' },
        ],
      },
    });
    const { ledger, executor, run } = setup(target, probe);
    const result = await run();
    expect(result.error).toBeInstanceOf(CheckRedError);
    expect(result.error?.exitCode).toBe(3);
    expect(result.error?.message).toContain('FAILURE: schedule table — pgboss.schedule is missing');
    expect(result.error?.message).toContain('orphans — (r1); (r2); (r3); and 2 more rows');
    expect(executor.calls.map((c) => c.phase)).toEqual(['schema']);
    expect(ledger.state?.release).toBe('1.0');
    const record = [...ledger.phases.values()].find((p) => p.phase === 'check');
    expect(record).toMatchObject({ status: 'failed', exitCode: null, attempts: 1 });
    expect(result.steps[0]?.phases.find((p) => p.phase === 'check')?.checks).toEqual([
      { check: 'schedule table', result: 2, details: 'pgboss.schedule is missing' },
      { check: 'orphans', result: 2, details: '(r1); (r2); (r3); and 2 more rows' },
    ]);
  });

  it('severity warning reports the rows and lets the release advance (SQL-only phase, exit code null)', async () => {
    const probe = new FakeProbe({ 'select stale': rows('3 stale jobs') });
    const target = release('1.1', {
      schema,
      preflight: {
        protocol: 'upgradecheck',
        env: {},
        sql: [{ name: 'stale jobs', query: 'select stale', severity: 'warning' }],
      },
    });
    const { ledger, events, run } = setup(target, probe);
    const result = await run();
    expect(result.status).toBe('succeeded');
    expect(checkResults(events)).toEqual(['preflight stale jobs=1']);
    const finished = events.find((e) => e.type === 'phase-finished' && e.phase === 'preflight');
    expect(finished).toMatchObject({
      status: 'succeeded',
      exitCode: null,
      message: 'warning: stale jobs: 3 stale jobs',
    });
    expect(ledger.state?.release).toBe('1.1');
  });

  it('a query error or timeout is a failed phase (exit 1) naming the check, release and phase, not a red light', async () => {
    for (const [error, words] of [
      [new SqlProbeError('relation "nope" does not exist', false), 'relation "nope" does not exist'],
      [new SqlProbeError('timed out after 4000 ms (statement_timeout)', true), 'timed out'],
    ] as const) {
      const probe = new FakeProbe({ 'select broken': error });
      const target = release('1.1', {
        schema,
        check: {
          protocol: 'exit0',
          env: {},
          sql: [{ name: 'broken one', query: 'select broken', severity: 'failure' }],
        },
      });
      const { ledger, run } = setup(target, probe);
      const result = await run();
      expect(result.error).toBeInstanceOf(PhaseFailedError);
      expect(result.error?.exitCode).toBe(1);
      expect(result.error?.message).toContain(
        'release 1.1, phase check failed: sql check "broken one" gave no verdict',
      );
      expect(result.error?.message).toContain(words);
      expect(ledger.state?.release).toBe('1.0');
    }
  });

  it('a release with SQL and no probe fails loudly (a caller forgot sqlProbe)', async () => {
    const target = release('1.1', {
      schema,
      check: { protocol: 'exit0', env: {}, sql: [{ name: 'x', query: 'select 1', severity: 'failure' }] },
    });
    const result = await setup(target, undefined).run();
    expect(result.status).toBe('failed');
    expect(result.error?.message).toMatch(
      /release 1\.1, phase check has sql checks but the runner was given no SqlProbe/,
    );
  });
});

describe('appVersion in the check', () => {
  const target = (equals: string) =>
    release(
      '1.1',
      { schema, check: { run: ['check'], protocol: 'exit0', env: {}, sql: [] } },
      { appVersion: { sql: 'select version', equals } },
    );

  it('ends the check by reading what the application says; equal is green', async () => {
    const probe = new FakeProbe({ 'select version': { columns: ['version'], rows: [{ version: '20' }] } });
    const { events, ledger, run } = setup(target('20'), probe);
    expect((await run()).status).toBe('succeeded');
    expect(checkResults(events)).toEqual(['check appVersion equals 20=0']);
    expect(ledger.state?.release).toBe('1.1');
  });

  it('a mismatch is a red check naming what the application says and what the release expects', async () => {
    const probe = new FakeProbe({ 'select version': { columns: ['version'], rows: [{ version: '21' }] } });
    const { ledger, run } = setup(target('20'), probe);
    const result = await run();
    expect(result.error).toBeInstanceOf(CheckRedError);
    expect(result.error?.message).toContain('the application says 21; release 1.1 expects 20');
    expect(ledger.state?.release).toBe('1.0');
  });
});

describe('exit-code maps', () => {
  const map = { exitCodes: { 0: 'green', 1: 'error', 2: 'red', 3: 'warning' } } as const;

  it('check: green passes, warning passes reported, red is a red check (exit 3), error/unlisted fail (exit 1) naming code and map', async () => {
    const cases: [number, string, number | null][] = [
      [0, 'succeeded', null],
      [3, 'succeeded', null],
      [2, 'failed', 3],
      [1, 'failed', 1],
      [9, 'failed', 1],
    ];
    for (const [code, status, exitCode] of cases) {
      const target = release('1.1', {
        schema,
        check: { run: ['keystone-manage', 'db_sync', '--check'], protocol: map, env: {}, sql: [] },
      });
      const { events, run } = setup(target, undefined, (call) => ({ exitCode: call.phase === 'check' ? code : 0 }));
      const result = await run();
      expect(result.status, `exit ${code}`).toBe(status);
      expect(result.error?.exitCode ?? null, `exit ${code}`).toBe(exitCode);
      if (code === 3) {
        expect(checkResults(events)).toEqual(['check keystone-manage db_sync --check=1']);
        expect(events.find((e) => e.type === 'phase-finished' && e.phase === 'check')).toMatchObject({
          message: expect.stringContaining('calls warning') as unknown,
        });
      }
      if (code === 2)
        expect(result.error?.message).toContain(
          'which the exit-code map (0 green, 1 error, 2 red, 3 warning) calls red',
        );
      if (code === 1)
        expect(result.error?.message).toContain(
          'exited with code 1, which the exit-code map (0 green, 1 error, 2 red, 3 warning) calls error',
        );
      if (code === 9)
        expect(result.error?.message).toContain(
          'exited with code 9, which the exit-code map (0 green, 1 error, 2 red, 3 warning) does not list',
        );
    }
  });

  it('schema: red is a failed schema command (exit 1) saying the map called it red; warning proceeds', async () => {
    const schemaMap = (code: number) => {
      const target = release('1.1', {
        schema: [{ name: 'db', run: ['glance-manage', 'db', 'sync'], protocol: map, env: {} }],
      });
      return setup(target, undefined, () => ({ exitCode: code })).run();
    };
    const red = await schemaMap(2);
    expect(red.error).toBeInstanceOf(PhaseFailedError);
    expect(red.error?.message).toContain('phase schema (db) failed: `glance-manage db sync` exited with code 2');
    expect(red.error?.message).toContain('calls red');
    expect((await schemaMap(3)).status).toBe('succeeded');
  });
});

describe('per-command env', () => {
  it('is merged over the release env; it can never set the URL variable or a PG* variable', async () => {
    const target = release('1.1', {
      schema: [
        {
          name: 'db',
          run: ['kolla_start'],
          protocol: 'exit0',
          env: { KOLLA_UPGRADE: 'yes', SHARED: 'command', DATABASE_URL: 'postgres://elsewhere', PGHOST: 'elsewhere' },
        },
      ],
      check: { run: ['check'], protocol: 'exit0', env: { KOLLA_UPGRADE_CHECK: 'yes' }, sql: [] },
    });
    const { executor, run } = setup(target, undefined);
    expect((await run()).status).toBe('succeeded');
    const [schemaCall, checkCall] = executor.calls;
    expect(schemaCall?.env).toEqual({
      RELEASE_ENV: '1.1',
      SHARED: 'command',
      KOLLA_UPGRADE: 'yes',
      DATABASE_URL: 'postgres://u:pw@h/db',
    });
    expect(checkCall?.env).toEqual({
      RELEASE_ENV: '1.1',
      SHARED: 'release',
      KOLLA_UPGRADE_CHECK: 'yes',
      DATABASE_URL: 'postgres://u:pw@h/db',
    });
  });
});

describe('data.until gates', () => {
  const gate = (run?: readonly string[], stallAfter = 3) =>
    release('1.1', {
      schema,
      data: {
        ...(run === undefined ? {} : { run }),
        protocol: 'batches',
        batchSize: 10,
        stallAfter,
        env: {},
        until: { sql: 'select count', pollMs: 5 },
      },
    });

  it('polls until the count is 0, after the command said done, showing remaining, rate and ETA', async () => {
    const order: string[] = [];
    const probe = new FakeProbe({ 'select count': [count(50), count(30), count(30), count(0)] }, (sql) =>
      order.push(sql),
    );
    const { ledger, events, run } = setup(gate(['migrate-data']), probe, (call) => {
      order.push(call.command.join(' '));
      return { exitCode: 0 };
    });
    const result = await run();
    expect(result.status).toBe('succeeded');
    expect(order).toEqual(['migrate', 'migrate-data', 'select count', 'select count', 'select count', 'select count']);
    const progress = events.flatMap((e) => (e.type === 'progress' ? [e] : []));
    expect(progress.map((p) => [p.remaining, p.done])).toEqual([
      [50, 0],
      [30, 20],
      [30, 20],
      [0, 50],
    ]);
    expect(progress[1]?.migration).toBe('data.until');
    expect(progress[1]?.rowsPerSecond).toBeGreaterThan(0);
    expect(progress[1]?.etaMs).toBeGreaterThan(0);
    const record = [...ledger.phases.values()].find((p) => p.phase === 'data');
    expect(record).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(record?.details).toMatchObject({ polls: 4 });
  });

  it('alone (no command): stallAfter polls in a row without a decrease fail the phase (exit 1) naming the count', async () => {
    const probe = new FakeProbe({ 'select count': [count(9), count(7), count(7), count(8), count(7)] });
    const { executor, ledger, run } = setup(gate(undefined, 3), probe);
    const result = await run();
    expect(result.error).toBeInstanceOf(PhaseFailedError);
    expect(result.error?.message).toContain(
      'release 1.1, phase data failed: data.until stalled: data.until still counts 7 remaining after 3 polls in a row without going below 7',
    );
    expect(probe.queries).toHaveLength(5);
    expect(executor.calls.map((c) => c.phase)).toEqual(['schema']);
    expect([...ledger.phases.values()].find((p) => p.phase === 'data')).toMatchObject({
      status: 'failed',
      exitCode: null,
    });
  });

  it('a query that is not one count fails the phase', async () => {
    const probe = new FakeProbe({ 'select count': { columns: ['a', 'b'], rows: [{ a: 1, b: 2 }] } });
    const result = await setup(gate(), probe).run();
    expect(result.error?.message).toContain('data.until.sql must return one row with one column, a count');
  });

  it('Ctrl-C between polls stops the wait at once: interrupted (exit 130), recorded as interrupted', async () => {
    const slow = release('1.1', {
      schema,
      data: {
        protocol: 'batches',
        batchSize: 1,
        stallAfter: 100,
        env: {},
        until: { sql: 'select count', pollMs: 60_000 },
      },
    });
    const ctrlC: { press?: () => void } = {};
    // The first poll reads 5; Ctrl-C comes 10 ms later, during the 60 s wait for the next poll.
    const probe = new FakeProbe({ 'select count': count(5) }, () => setTimeout(() => ctrlC.press?.(), 10));
    const context = setup(slow, probe);
    ctrlC.press = () => context.controller.abort();
    const started = performance.now();
    const result = await context.run();
    expect(performance.now() - started).toBeLessThan(5000);
    expect(result.error).toBeInstanceOf(InterruptedError);
    expect(result.error?.exitCode).toBe(130);
    expect([...context.ledger.phases.values()].find((p) => p.phase === 'data')?.status).toBe('interrupted');
  });

  it('the phase timeout bounds the wait', async () => {
    const probe = new FakeProbe({ 'select count': [count(5), count(4), count(3), count(2), count(1)] });
    const short = release(
      '1.1',
      {
        schema,
        data: {
          protocol: 'batches',
          batchSize: 1,
          stallAfter: 100,
          env: {},
          until: { sql: 'select count', pollMs: 40 },
        },
      },
      { timeoutsMs: { preflight: 1000, schema: 1000, data: 100, check: 1000 } },
    );
    const result = await setup(short, probe).run();
    expect(result.error).toBeInstanceOf(PhaseFailedError);
    expect(result.error?.message).toMatch(
      /timed out \(the manifest's timeouts\.data\) while waiting for data\.until: \d still remaining/,
    );
  });
});

describe('formatRows: a check’s rows as one compact line', () => {
  it('one column shows values, several show column=value; NULL, dates, JSON and long values stay on one line', () => {
    expect(formatRows({ columns: ['problem'], rows: [{ problem: 'pgboss.schedule is missing' }] })).toBe(
      'pgboss.schedule is missing',
    );
    expect(
      formatRows({
        columns: ['id', 'at', 'meta', 'note'],
        rows: [{ id: 7, at: new Date('2026-01-02T03:04:05Z'), meta: { a: 1 }, note: null }],
      }),
    ).toBe('id=7, at=2026-01-02T03:04:05.000Z, meta={"a":1}, note=NULL');
    const long = formatRows({ columns: ['text'], rows: [{ text: `line one\nline two ${'x'.repeat(200)}` }] });
    expect(long).toMatch(/^line one line two x+…$/);
    expect(long).toHaveLength(80);
    expect(formatRows({ columns: ['n'], rows: [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }] })).toBe(
      '(1); (2); (3); and 1 more row',
    );
  });
});
