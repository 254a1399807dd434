// `baseline`, `apply`, `step`, `status` as a user runs them: the built CLI, real PostgreSQL,
// the process executor and the fx fixture releases. Covers exit codes 0, 1, 2, 3, 5 and 6.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ledgerMigrations } from '../../src/ledger/migrations.js';
import { createTestDatabase } from '../helpers/database.js';
import { CATALOG, currentRelease, leapfrog, phaseRows, seedItems } from './apply-helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'leapfrog-e2e-apply-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('baseline', () => {
  it('adopts a database, accepts the same release again, refuses another (exit 2)', async () => {
    await using db = await createTestDatabase('e2e_baseline');
    const first = await leapfrog(['baseline', '--release', '2023.1'], db.url);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain('baselined');
    expect(await currentRelease(db)).toBe('2023.1');
    const migrations = await db.query<{ id: number }>('SELECT id FROM leapfrog.ledger_migrations ORDER BY id');
    expect(migrations.map((m) => m.id)).toEqual(ledgerMigrations.map((m) => m.id));

    expect((await leapfrog(['baseline', '--release', '2023.1'], db.url)).exitCode).toBe(0);
    const other = await leapfrog(['baseline', '--release', '2024.1'], db.url);
    expect(other.exitCode).toBe(2);
    expect(other.stderr).toContain('already records release 2023.1');
    expect(other.stderr).toContain('next:');
    expect(await currentRelease(db)).toBe('2023.1');
  });

  it('apply and step on a database that was never baselined exit 2 with the baseline command and change nothing', async () => {
    await using db = await createTestDatabase('e2e_nobase');
    const result = await leapfrog(['apply', '--to', '2023.2'], db.url);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('leapfrog baseline --release');
    const planFile = join(dir, 'nobase.json');
    expect((await leapfrog(['plan', '--from', '2023.1', '--to', '2023.2', '--out', planFile], null)).exitCode).toBe(0);
    const step = await leapfrog(['step', '--plan', planFile], db.url);
    expect(step.exitCode).toBe(2);
    expect(step.stderr).toContain('leapfrog baseline --release 2023.1');
    // A refusal is read-only: not even the ledger schema may appear.
    const schemas = await db.query("SELECT 1 FROM pg_namespace WHERE nspname = 'leapfrog'");
    expect(schemas).toEqual([]);
  });

  it('apply --plan with a missing or garbage plan file names the file (exit 2) before connecting', async () => {
    const unreachable = 'postgres://nobody:secret-pw@127.0.0.1:1/nowhere';
    const missing = await leapfrog(['apply', '--plan', join(dir, 'missing.json')], unreachable);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain(`cannot read plan file ${join(dir, 'missing.json')}: it does not exist`);
    expect(missing.stderr).not.toContain('cannot connect');
    const garbage = join(dir, 'garbage.json');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(garbage, 'not json at all');
    const broken = await leapfrog(['step', '--plan', garbage], unreachable);
    expect(broken.exitCode).toBe(2);
    expect(broken.stderr).toContain(`plan file ${garbage} is not valid JSON`);
    expect(broken.stderr).not.toContain('cannot connect');
    expect(broken.stderr).not.toContain('secret-pw');
  });
});

describe('apply and step', () => {
  it('step runs exactly one step; apply --plan runs the rest; status shows progress; re-apply is nothing to do', async () => {
    await using db = await createTestDatabase('e2e_apply');
    await seedItems(db, 900);
    const planFile = join(dir, 'a.json');
    expect((await leapfrog(['baseline', '--release', '2023.1'], db.url)).exitCode).toBe(0);
    const planned = await leapfrog(['plan', '--from', '2023.1', '--to', '2024.1', '--out', planFile], null);
    expect(planned.exitCode, planned.stderr).toBe(0);

    const step = await leapfrog(['step', '--plan', planFile], db.url);
    expect(step.exitCode, step.stderr).toBe(0);
    expect(step.stdout).toContain('==> 2023.2');
    expect(step.stdout).not.toContain('==> 2024.1');
    expect(step.stdout).toContain(`next: leapfrog step --plan ${planFile}`);
    expect(await currentRelease(db)).toBe('2023.2');

    const status = await leapfrog(['status', '--plan', planFile], db.url);
    expect(status.stdout).toContain('current release: 2023.2');
    expect(status.stdout).toContain('pending: 2024.1');

    const apply = await leapfrog(['--output', 'json', 'apply', '--plan', planFile], db.url);
    expect(apply.exitCode, apply.stderr).toBe(0);
    const lines = apply.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; [k: string]: unknown });
    expect(lines[0]?.type).toBe('run-started');
    expect(lines.some((l) => l.type === 'progress')).toBe(true);
    const summary = lines.at(-1) as {
      type: string;
      status: string;
      finalRelease: { release: string };
      rowsMigrated: number;
      path: string[];
    };
    expect(summary).toMatchObject({
      type: 'summary',
      status: 'succeeded',
      finalRelease: { release: '2024.1' },
      rowsMigrated: 900,
      path: ['2023.2', '2024.1'],
    });

    const rows = await phaseRows(db);
    expect(rows).toHaveLength(10);
    expect(rows.every((r) => r.status === 'succeeded' && r.attempts === 1)).toBe(true);
    const left = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM items WHERE r_2024_1 IS NULL OR r_2023_2 IS NULL',
    );
    expect(left[0]?.n).toBe(0);

    const again = await leapfrog(['apply', '--plan', planFile], db.url);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('nothing to do');
  });

  it('a failing phase exits 1 with its output; the re-run resumes at that phase (each phase succeeded once)', async () => {
    await using db = await createTestDatabase('e2e_fail');
    await seedItems(db, 100);
    await leapfrog(['baseline', '--release', '2023.1'], db.url);
    const failed = await leapfrog(['apply', '--to', '2023.2'], db.url, { FX_FAIL: '2023.2:schema:3' });
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain('release 2023.2, phase schema (api_db) failed');
    expect(failed.stderr).toContain('failing on purpose with 3');
    // The re-run repeats the operator's --catalog and --database-url (the URL itself never printed).
    expect(failed.stderr).toContain(
      `next: fix the cause, then re-run \`leapfrog apply --to 2023.2 --catalog ${CATALOG} --database-url <url>\``,
    );
    const status = await leapfrog(['status'], db.url);
    expect(status.stdout).toContain('last failure: 2023.2 schema (api_db) failed, exit 3');

    const resumed = await leapfrog(['apply', '--to', '2023.2'], db.url);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('preflight: skipped');
    const rows = await phaseRows(db);
    expect(rows.map((r) => `${r.phase}:${r.name}:${r.status}:${r.attempts}`)).toEqual([
      'preflight:preflight:succeeded:1',
      'schema:api_db:succeeded:2',
      'schema:db:succeeded:1',
      'data:data:succeeded:1',
      'check:check:succeeded:1',
    ]);
  });

  it('stalled data migrations exit 1 naming the migration and the remaining count', async () => {
    await using db = await createTestDatabase('e2e_stall');
    await seedItems(db, 10);
    await leapfrog(['baseline', '--release', '2023.1'], db.url);
    const result = await leapfrog(['apply', '--to', '2023.2'], db.url, { FX_STALL: '2023.2' });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(
      'stalled: migration backfill_r_2023_2 (42 rows remaining) made no progress in 3 runs in a row',
    );
    expect(await currentRelease(db)).toBe('2023.1');
  });

  it('a check warning proceeds and is reported; a red check exits 3 and does not advance', async () => {
    await using db = await createTestDatabase('e2e_check');
    await seedItems(db, 10);
    await leapfrog(['baseline', '--release', '2023.1'], db.url);
    const warned = await leapfrog(['apply', '--to', '2023.2'], db.url, { FX_CHECK: '2023.2:1' });
    expect(warned.exitCode, warned.stderr).toBe(0);
    expect(warned.stdout).toContain('check warning: Backfill r_2023_2');
    expect(await currentRelease(db)).toBe('2023.2');

    const red = await leapfrog(['apply', '--to', '2024.1'], db.url, { FX_CHECK: '2024.1:255' });
    expect(red.exitCode).toBe(3);
    expect(red.stderr).toContain('green-light check is red for release 2024.1');
    expect(red.stderr).toContain('FAILURE: Backfill r_2024_1');
    expect(await currentRelease(db)).toBe('2023.2');
  });

  it('refuses a downgrade (exit 5) and a plan that does not start where the database is (exit 6)', async () => {
    await using db = await createTestDatabase('e2e_refuse');
    await seedItems(db, 10);
    // The fixture database only has `items` without 2023.2's column, so 2023.2's check cannot
    // confirm it; what is tested here is the refusal of a downgrade from a recorded 2023.2.
    expect((await leapfrog(['baseline', '--release', '2023.2', '--no-verify'], db.url)).exitCode).toBe(0);
    const down = await leapfrog(['apply', '--to', '2023.1'], db.url);
    expect(down.exitCode).toBe(5);
    expect(down.stderr).toContain('downgrade');

    const planFile = join(dir, 'stale.json');
    await leapfrog(['plan', '--from', '2024.1', '--to', '2024.2', '--out', planFile], null);
    const stale = await leapfrog(['step', '--plan', planFile], db.url);
    expect(stale.exitCode).toBe(6);
    expect(stale.stderr).toContain('the database is at 2023.2, which is not a stop of this plan');
    expect(stale.stderr).toContain('leapfrog apply --to 2024.2');
    const runs = await db.query('SELECT * FROM leapfrog.runs');
    expect(runs).toHaveLength(0);
  });

  it('refuses an edited plan file (its digest no longer matches, exit 6) before anything runs', async () => {
    await using db = await createTestDatabase('e2e_digest');
    await leapfrog(['baseline', '--release', '2023.1'], db.url);
    const planFile = join(dir, 'other-catalog.json');
    const planned = await leapfrog(['plan', '--from', '2023.1', '--to', '2023.2', '--out', planFile], null);
    expect(planned.exitCode, planned.stderr).toBe(0);
    const { readFile, writeFile } = await import('node:fs/promises');
    const plan = JSON.parse(await readFile(planFile, 'utf8')) as { catalogDigest: string };
    plan.catalogDigest = `sha256:${'0'.repeat(64)}`;
    await writeFile(planFile, JSON.stringify(plan));
    const result = await leapfrog(['apply', '--plan', planFile], db.url);
    expect(result.exitCode).toBe(6);
    expect(result.stderr).toMatch(/plan file .*other-catalog\.json/);
    expect(await db.query('SELECT * FROM leapfrog.runs')).toHaveLength(0);
  });
});
