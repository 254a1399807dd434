// What a stop will do, as an operator sees it through the built CLI: `plan`'s listing, `plan`
// from the database's ledger, and `apply`/`step --dry-run` against a real PostgreSQL, proving
// that a dry run changes nothing (rows, schemas, pg_stat counters, backups, lock).
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireLedgerLock } from '../../src/ledger/ledger-lock.js';
import { databaseTargetFromUrl } from '../../src/pg/database-target.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { fingerprintDatabase, type DatabaseFingerprint } from '../helpers/database-fingerprint.js';
import { CATALOG, CLI, ROOT, currentRelease, leapfrog, phaseRows, seedItems } from './apply-helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'leapfrog-e2e-dry-run-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * The CLI with exactly this environment (no DATABASE_URL or PG* from the test's own), and no
 * `--no-backup` added: the dry run's backup verdict is under test.
 */
function cli(args: string[], env: Record<string, string> = {}) {
  return execa('node', [CLI, ...args], {
    cwd: ROOT,
    reject: false,
    extendEnv: false,
    env: { PATH: process.env['PATH'] ?? '', NO_COLOR: '1', CI: '1', LEAPFROG_CACHE_DIR: 'off', ...env },
  });
}

interface Snapshot {
  fingerprint: DatabaseFingerprint;
  schemas: string[];
  /** pg_stat_database's row counters: any insert, update or delete in the database moves them. */
  writes: string;
}

async function snapshot(db: TestDatabase): Promise<Snapshot> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const schemas = await client.query<{ nspname: string }>(
      "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1",
    );
    return {
      fingerprint: await fingerprintDatabase(client),
      schemas: schemas.rows.map((r) => r.nspname),
      writes: await settledWrites(db),
    };
  } finally {
    await client.end();
  }
}

/**
 * A backend flushes its statistics as it exits, which may be just after the CLI process did: read
 * the counters until two readings 300 ms apart agree, so "before" and "after" are both settled.
 */
async function settledWrites(db: TestDatabase): Promise<string> {
  const read = async () =>
    (
      await db.query<{ w: string }>(
        `SELECT concat_ws('/', tup_inserted, tup_updated, tup_deleted) AS w FROM pg_stat_database WHERE datname = current_database()`,
      )
    )[0]?.w ?? '';
  let previous = await read();
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 300));
    const now = await read();
    if (now === previous) return now;
    previous = now;
  }
  return previous;
}

describe('plan lists what each stop runs', () => {
  it('text: the table as before, then each stop with its phases, commands, protocols and budgets', async () => {
    const result = await leapfrog(['plan', '--from', '2023.2', '--to', '2024.2'], null);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/1\s+2024\.1\s+2024\.1\.0\s+milestone; accepts 2023\.2/);
    expect(result.stdout).toContain('What each stop runs, in order');
    expect(result.stdout).toContain('1. 2024.1 (2024.1.0): database URL in $DATABASE_URL');
    expect(result.stdout).toMatch(/preflight\s+fx preflight 2024\.1 --json {2}\[upgradecheck; timeout 10m\]/);
    expect(result.stdout).toMatch(/schema api_db\s+fx schema 2024\.1 api_db {2}\[exit0; timeout 1m\]/);
    expect(result.stdout).toMatch(/schema db\s+fx schema 2024\.1 db/);
    expect(result.stdout).toContain('fx data 2024.1 --max-count {batchSize=400}  [batches, stallAfter 3; timeout 5m]');
    expect(result.stdout).toMatch(/check\s+fx check 2024\.1 --json {2}\[upgradecheck; timeout 1m\]/);
    expect(result.stdout).toContain('2. 2024.2 (2024.2.0)');
    // The listing comes before the next command, which is unchanged.
    expect(result.stdout.indexOf('What each stop runs')).toBeLessThan(result.stdout.indexOf('next: leapfrog plan'));

    const brief = await leapfrog(['plan', '--from', '2023.2', '--to', '2024.2', '--brief'], null);
    expect(brief.exitCode).toBe(0);
    expect(brief.stdout).toContain('2023.2 -> 2024.1 -> 2024.2');
    expect(brief.stdout).not.toContain('What each stop runs');
    expect(brief.stdout).not.toContain('fx schema');
  });

  it('json: the plan object with the same listing under `stops`; the plan file keeps its shape', async () => {
    const out = join(dir, 'listed.json');
    const result = await leapfrog(
      ['--output', 'json', 'plan', '--from', '2023.2', '--to', '2024.2', '--out', out],
      null,
    );
    expect(result.exitCode, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout) as {
      planDigest: string;
      stops: {
        step: number;
        release: string;
        databaseUrlEnv: string;
        phases: { phase: string; name: string; timeoutMs: number; command: { run: string[]; protocol: string } }[];
      }[];
    };
    expect(printed.planDigest).toMatch(/^sha256:/);
    expect(printed.stops.map((s) => [s.step, s.release])).toEqual([
      [1, '2024.1'],
      [2, '2024.2'],
    ]);
    expect(printed.stops[0]?.phases.map((p) => `${p.phase}:${p.name}`)).toEqual([
      'preflight:preflight',
      'schema:api_db',
      'schema:db',
      'data:data',
      'check:check',
    ]);
    expect(printed.stops[0]?.phases[3]).toMatchObject({
      batchSize: 400,
      stallAfter: 3,
      timeoutMs: 300_000,
      command: { run: ['fx', 'data', '2024.1', '--max-count', '{batchSize}'], protocol: 'batches' },
    });
    const { readFile } = await import('node:fs/promises');
    expect(Object.keys(JSON.parse(await readFile(out, 'utf8')) as object)).not.toContain('stops');
    const brief = await leapfrog(['--output', 'json', 'plan', '--from', '2023.2', '--to', '2024.2', '--brief'], null);
    expect(Object.keys(JSON.parse(brief.stdout) as object)).not.toContain('stops');
  });
});

describe('plan from the database', () => {
  it('without --from starts where the ledger says, read-only; --from wins and never connects', async () => {
    await using db = await createTestDatabase('e2e_plan_db');
    await seedItems(db, 10);
    expect((await leapfrog(['baseline', '--release', '2023.1'], db.url)).exitCode).toBe(0);
    const before = await snapshot(db);

    const fromLedger = await cli(['plan', '--to', '2024.1', '--catalog', CATALOG], { DATABASE_URL: db.url });
    expect(fromLedger.exitCode, fromLedger.stderr).toBe(0);
    expect(fromLedger.stdout).toContain('2023.1 (2023.1.0) -> 2024.1 (2024.1.0)');
    expect(fromLedger.stdout).toMatch(/\(2023\.1 is where the ledger of .*\/e2e_plan_db_\w+ says the database is\)/);
    const json = await cli([
      '--output',
      'json',
      'plan',
      '--to',
      '2024.1',
      '--catalog',
      CATALOG,
      '--database-url',
      db.url,
    ]);
    expect(json.exitCode, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      from: { release: '2023.1' },
      fromDatabase: expect.stringContaining(db.name) as string,
    });
    expect(await snapshot(db)).toEqual(before);

    // --from plans for another database state: the unreachable DATABASE_URL is never contacted.
    const unreachable = 'postgres://nobody:pw-secret@127.0.0.1:1/nowhere';
    const fromFlag = await cli(['plan', '--from', '2023.2', '--to', '2024.1', '--catalog', CATALOG], {
      DATABASE_URL: unreachable,
    });
    expect(fromFlag.exitCode, fromFlag.stderr).toBe(0);
    expect(fromFlag.stdout).toContain('2023.2 (2023.2.0) -> 2024.1 (2024.1.0)');
    expect(fromFlag.stdout + fromFlag.stderr).not.toContain('pw-secret');
  });

  it('a database that was never baselined exits 2 with the baseline command and gets no ledger schema', async () => {
    await using db = await createTestDatabase('e2e_plan_nobase');
    const result = await cli(['plan', '--to', '2024.1', '--catalog', CATALOG, '--database-url', db.url]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('has no leapfrog ledger release yet');
    expect(result.stderr).toContain('next: adopt it first: `leapfrog baseline --release');
    expect(await db.query("SELECT 1 FROM pg_namespace WHERE nspname = 'leapfrog'")).toEqual([]);
  });

  it('no database and no --from exits 2 naming both ways', async () => {
    const result = await cli(['plan', '--to', '2024.1', '--catalog', CATALOG]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--from is required when no database is given');
    expect(result.stderr).toContain('leapfrog plan --from <release> --to <release>');
    expect(result.stderr).toContain(
      `leapfrog plan --to 2024.1 --database-url <url> --catalog ${CATALOG} (or set DATABASE_URL)`,
    );
  });
});

describe('apply --dry-run and step --dry-run', () => {
  it('lists what would run against the ledger and changes nothing: rows, schemas, pg_stat, backups, commands', async () => {
    await using db = await createTestDatabase('e2e_dry');
    await seedItems(db, 50);
    expect((await leapfrog(['baseline', '--release', '2023.1'], db.url)).exitCode).toBe(0);
    const backups = join(dir, 'backups-dry');
    const before = await snapshot(db);

    const dry = await cli(['apply', '--to', '2024.1', '--dry-run', '--catalog', CATALOG, '--backup-dir', backups], {
      DATABASE_URL: db.url,
    });
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('dry run of apply: nothing was changed');
    expect(dry.stdout).toMatch(/the database .*e2e_dry_\w+ is at 2023\.1 \(2023\.1\.0\)/);
    expect(dry.stdout).toContain('apply would run 2 steps: 2023.2, 2024.1; starts at 2023.2 preflight');
    expect(dry.stdout).toMatch(
      /backup: would be taken before the first command of 2023\.2 after its preflight \(into .*backups-dry\)/,
    );
    expect(dry.stdout).toContain('lock: free');
    expect(dry.stdout).toMatch(/schema api_db\s+fx schema 2023\.2 api_db .*<- runs/);
    expect(dry.stdout).toContain('next: leapfrog apply --to 2024.1');

    const after = await snapshot(db);
    expect(after).toEqual(before);
    // No backup and not even its folder; no command ran (fx's schema would have added a column).
    await expect(readdir(backups)).rejects.toThrow(/ENOENT/);
    expect(await db.query('SELECT * FROM leapfrog.runs')).toHaveLength(0);

    // The counters are sensitive: the real run moves them.
    const real = await leapfrog(['apply', '--to', '2023.2'], db.url);
    expect(real.exitCode, real.stderr).toBe(0);
    expect((await snapshot(db)).writes).not.toBe(before.writes);
  });

  it('after a failed phase it says where the run resumes, what is skipped, and that no new backup is due', async () => {
    await using db = await createTestDatabase('e2e_dry_resume');
    await seedItems(db, 20);
    await leapfrog(['baseline', '--release', '2023.1'], db.url);
    const failed = await leapfrog(['apply', '--to', '2023.2'], db.url, { FX_FAIL: '2023.2:schema:3' });
    expect(failed.exitCode).toBe(1);
    const phasesBefore = await phaseRows(db);

    const dry = await cli(
      [
        '--output',
        'json',
        'apply',
        '--to',
        '2024.1',
        '--dry-run',
        '--catalog',
        CATALOG,
        '--backup-dir',
        join(dir, 'b2'),
      ],
      { DATABASE_URL: db.url },
    );
    expect(dry.exitCode, dry.stderr).toBe(0);
    const report = JSON.parse(dry.stdout) as {
      type: string;
      current: { release: string };
      pending: string[];
      resumed: boolean;
      resumesAt: { release: string; phase: string; name: string };
      backup: { wouldTake: boolean; reason: string };
      stops: { release: string; phases: { name: string; action: string; recorded: { status: string } | null }[] }[];
    };
    expect(report).toMatchObject({
      type: 'dry-run',
      current: { release: '2023.1' },
      pending: ['2023.2', '2024.1'],
      resumed: true,
      resumesAt: { release: '2023.2', phase: 'schema', name: 'api_db' },
      backup: { wouldTake: false },
    });
    expect(report.backup.reason).toContain('records phases of this hop');
    expect(report.stops[0]?.phases.map((p) => `${p.name}:${p.action}:${p.recorded?.status ?? '-'}`)).toEqual([
      'preflight:skip:succeeded',
      'api_db:run:failed',
      'db:run:-',
      'data:run:-',
      'check:run:-',
    ]);
    expect(await phaseRows(db)).toEqual(phasesBefore);

    const text = await cli(
      ['step', '--plan', await planFile('2023.1', '2024.1'), '--dry-run', '--no-backup', '--catalog', CATALOG],
      {
        DATABASE_URL: db.url,
      },
    );
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toContain('step would run 1 step: 2023.2; resumes at 2023.2 schema api_db');
    expect(text.stdout).toContain('backup: not taken: --no-backup');
    expect(text.stdout).toMatch(/preflight .*<- done \(recorded succeeded\), skipped/);
    expect(text.stdout).toMatch(/schema api_db .*<- runs again \(recorded failed, exit 3, 1 attempt\)/);
    expect(text.stdout).not.toContain('2. 2024.1');
    expect(await currentRelease(db)).toBe('2023.1');
  });

  it('does not take the lock: with another run holding it, it answers at once and names the holder', async () => {
    await using db = await createTestDatabase('e2e_dry_lock');
    await leapfrog(['baseline', '--release', '2023.1'], db.url);
    await using _lock = await acquireLedgerLock(databaseTargetFromUrl(db.url), { schema: 'leapfrog', timeoutMs: 5000 });
    const started = Date.now();
    const dry = await cli(
      ['apply', '--to', '2023.2', '--dry-run', '--no-backup', '--lock-timeout', '30s', '--catalog', CATALOG],
      {
        DATABASE_URL: db.url,
      },
    );
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(25_000);
    expect(dry.stdout).toMatch(/lock: held by leapfrog .* pid \d+: the run would wait for --lock-timeout, then exit 4/);
  });

  it("refuses as the run would: not baselined 2, downgrade 5, a plan off the database's path 6; nothing written", async () => {
    await using fresh = await createTestDatabase('e2e_dry_nobase');
    const nobase = await cli(['apply', '--to', '2023.2', '--dry-run', '--catalog', CATALOG], {
      DATABASE_URL: fresh.url,
    });
    expect(nobase.exitCode).toBe(2);
    expect(nobase.stderr).toContain('leapfrog baseline --release');
    expect(await fresh.query("SELECT 1 FROM pg_namespace WHERE nspname = 'leapfrog'")).toEqual([]);

    await using db = await createTestDatabase('e2e_dry_refuse');
    await seedItems(db, 10);
    expect((await leapfrog(['baseline', '--release', '2023.2', '--no-verify'], db.url)).exitCode).toBe(0);
    const before = await snapshot(db);
    const down = await cli(
      ['apply', '--to', '2023.1', '--dry-run', '--catalog', CATALOG, '--backup-dir', join(dir, 'b3')],
      {
        DATABASE_URL: db.url,
      },
    );
    expect(down.exitCode).toBe(5);
    expect(down.stderr).toContain('downgrade');
    const stale = await cli(['step', '--plan', await planFile('2024.1', '2024.2'), '--dry-run', '--catalog', CATALOG], {
      DATABASE_URL: db.url,
    });
    expect(stale.exitCode).toBe(6);
    expect(stale.stderr).toContain('the database is at 2023.2, which is not a stop of this plan');
    const json = await cli(
      ['--output', 'json', 'step', '--plan', await planFile('2024.1', '2024.2'), '--dry-run', '--catalog', CATALOG],
      {
        DATABASE_URL: db.url,
      },
    );
    expect(json.exitCode).toBe(6);
    expect(JSON.parse(json.stdout.trim().split('\n').at(-1) ?? '{}')).toMatchObject({ exitCode: 6 });
    expect(await snapshot(db)).toEqual(before);
  });
});

async function planFile(from: string, to: string): Promise<string> {
  const file = join(dir, `${from}-to-${to}.json`);
  const result = await leapfrog(['plan', '--from', from, '--to', to, '--out', file], null);
  if (result.exitCode !== 0) throw new Error(result.stderr);
  return file;
}
