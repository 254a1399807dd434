import { describe, expect, it } from 'vitest';
import { planPath } from '../../src/planner/plan-path.js';
import { describeProtocol, formatStopListing, stopListing } from '../../src/upgrade/plan-report.js';
import { catalogBuilder, type ReleaseFields } from '../helpers/catalog-builder.js';

// Fields the helper's type does not name yet (issue 11's new manifest keys) still go through the real schema.
const withAppVersion = (fields: ReleaseFields, appVersion: { sql: string; equals: string }): ReleaseFields =>
  ({ ...fields, appVersion }) as ReleaseFields;

function catalog() {
  return catalogBuilder()
    .release('1.0', { milestone: true })
    .release(
      '1.1',
      withAppVersion(
        {
          env: { LOG_LEVEL: 'info', API_TOKEN: 's3cr3t-value' },
          databaseUrlEnv: 'APP_URL',
          phases: {
            preflight: {
              sql: [{ name: 'no stuck jobs', query: 'select id from jobs where locked', severity: 'warning' }],
              run: ['app', 'precheck'],
              protocol: { exitCodes: { 0: 'green', 3: 'red', 1: 'error' } },
            },
            schema: [
              { name: 'expand', run: ['app-manage', 'db_sync', '--expand'], env: { KOLLA_UPGRADE: 'yes' } },
              { name: 'contract', run: ['app-manage', 'db_sync', '--contract'] },
            ],
            data: {
              run: ['app-manage', 'online_data_migrations', '--max-count', '{batchSize}'],
              protocol: 'batches',
              batchSize: 500,
              stallAfter: 4,
              until: { sql: 'select count(*)\n  from bg_migrations where done = false', poll: '5s' },
            },
            check: {
              sql: [{ name: 'orders table exists', query: "select 1 where to_regclass('orders') is null" }],
            },
          },
          timeouts: { schema: '30m', data: '6h', check: '2m' },
        },
        { sql: 'select max(version) from app_migrations', equals: '42' },
      ),
    )
    .release('1.2', { phases: { schema: [] } })
    .build();
}

describe('stopListing: what each stop of a plan runs, from the catalog', () => {
  const cat = catalog();
  const plan = planPath(cat, '1.0', '1.2');
  const stops = stopListing(plan, cat);

  it('lists every step in plan order with its reasons and the phases in run order', () => {
    expect(stops.map((s) => [s.step, s.release, s.why])).toEqual([
      [1, '1.1', 'accepts 1.0 (upgradeFrom 1.0.0)'],
      [2, '1.2', 'accepts 1.1 (upgradeFrom 1.1.0); target'],
    ]);
    expect(stops[0]?.phases.map((p) => `${p.phase}:${p.name}`)).toEqual([
      'preflight:preflight',
      'schema:expand',
      'schema:contract',
      'data:data',
      'check:check',
    ]);
    expect(stops[1]?.phases).toEqual([]);
  });

  it('gives each phase its command, protocol, SQL, gate, appVersion and time budget', () => {
    const [preflight, expand, , data, check] = stops[0]?.phases ?? [];
    expect(preflight).toMatchObject({
      phase: 'preflight',
      sql: [{ name: 'no stuck jobs', severity: 'warning', query: 'select id from jobs where locked' }],
      command: { run: ['app', 'precheck'], protocol: { exitCodes: { 0: 'green', 1: 'error', 3: 'red' } }, env: [] },
      appVersion: null,
    });
    expect(expand).toMatchObject({
      phase: 'schema',
      timeoutMs: 30 * 60_000,
      command: { run: ['app-manage', 'db_sync', '--expand'], protocol: 'exit0', env: ['KOLLA_UPGRADE'] },
    });
    expect(data).toMatchObject({
      phase: 'data',
      batchSize: 500,
      stallAfter: 4,
      timeoutMs: 6 * 3_600_000,
      until: { pollMs: 5000 },
      command: { run: ['app-manage', 'online_data_migrations', '--max-count', '{batchSize}'] },
    });
    expect(check).toMatchObject({
      phase: 'check',
      command: null,
      sql: [{ name: 'orders table exists', severity: 'failure' }],
      appVersion: { sql: 'select max(version) from app_migrations', equals: '42' },
    });
  });

  it('names environment variables and the URL variable, never their values', () => {
    expect(stops[0]?.databaseUrlEnv).toBe('APP_URL');
    expect(stops[0]?.env).toEqual(['API_TOKEN', 'LOG_LEVEL']);
    expect(stops[1]?.databaseUrlEnv).toBe('DATABASE_URL');
    expect(stopListing(plan, cat, { databaseUrlEnv: 'FLAG_URL' })[0]?.databaseUrlEnv).toBe('FLAG_URL');
    const everything = JSON.stringify(stops) + formatStopListing(stops).join('\n');
    expect(everything).not.toContain('s3cr3t-value');
    expect(everything).not.toContain('"yes"');
  });

  it('prints a tree a person can read: commands with the batch size, SQL checks, the gate, appVersion', () => {
    const text = formatStopListing(stops).join('\n');
    expect(text).toContain('1. 1.1 (1.1.0): database URL in $APP_URL; env API_TOKEN, LOG_LEVEL');
    expect(text).toMatch(
      /preflight\s+1 sql check, then app precheck {2}\[exit codes 0 green, 1 error, 3 red \(others error\); timeout/,
    );
    expect(text).toContain('sql "no stuck jobs" (warning): green when no rows');
    expect(text).toMatch(/schema expand\s+app-manage db_sync --expand {2}\[exit0; timeout 30m\]/);
    expect(text).toContain('env KOLLA_UPGRADE');
    expect(text).toContain(
      'app-manage online_data_migrations --max-count {batchSize=500}  [batches, stallAfter 4; timeout 6h]',
    );
    expect(text).toContain(
      'until select count(*) from bg_migrations where done = false returns 0, polled every 5s (after the command is done)',
    );
    expect(text).toMatch(/check\s+1 sql check \(in-process, read-only\); timeout 2m/);
    expect(text).toContain('appVersion must equal "42" (select max(version) from app_migrations)');
    expect(text).toContain('2. 1.2 (1.2.0): database URL in $DATABASE_URL');
    expect(text).toContain('(no phases: the release only moves the ledger)');
  });

  it('marks each phase with what the ledger recorded, when a dry run says so', () => {
    const [first] = stops;
    if (first === undefined) throw new Error('no stop');
    const annotated = {
      ...first,
      phases: first.phases.map((p, i) => ({
        ...p,
        recorded:
          i < 3
            ? { status: 'succeeded', attempts: 1, exitCode: 0 }
            : i === 3
              ? { status: 'failed', attempts: 2, exitCode: 2 }
              : null,
        action: i < 3 ? ('skip' as const) : ('run' as const),
      })),
    };
    const text = formatStopListing([annotated]).join('\n');
    expect(text.match(/<- done \(recorded succeeded\), skipped/g)).toHaveLength(3);
    expect(text).toContain('<- runs again (recorded failed, exit 2, 2 attempts)');
    expect(text).toMatch(/check .*<- runs$/m);
  });

  it('describes named protocols and exit-code maps', () => {
    expect(describeProtocol('upgradecheck')).toBe('upgradecheck');
    expect(describeProtocol({ exitCodes: { 4: 'red', 0: 'green' } })).toBe('exit codes 0 green, 4 red (others error)');
  });
});
