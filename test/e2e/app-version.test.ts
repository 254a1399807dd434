// Issue 11 item 2: what the application says it is (`appVersion`), through the built CLI on real
// PostgreSQL. The fixture catalog's releases read their version from the app_meta table that their
// own schema commands write (test/fixtures/appver-app.mjs); a test moves it "behind leapfrog's back"
// by running that same command itself, as a newer application that migrated itself on start would.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { CLI, ROOT } from './apply-helpers.js';

const CATALOG = join(ROOT, 'test/fixtures/catalogs/appver');
const APP = join(ROOT, 'test/fixtures/appver-app.mjs');

/** `url` null: a verb that takes no database (plan). */
function leapfrog(args: string[], url: string | null) {
  const runs = args[0] === 'apply' || args[0] === 'step';
  return execa(
    'node',
    [
      CLI,
      ...args,
      '--catalog',
      CATALOG,
      ...(url === null ? [] : ['--database-url', url]),
      ...(runs ? ['--no-backup'] : []),
    ],
    { cwd: ROOT, reject: false, env: { NO_COLOR: '1', CI: '1', DATABASE_URL: '' } },
  );
}

/** The application itself sets its version (an install, or a newer version migrating on start). */
async function appSays(db: TestDatabase, version: string): Promise<void> {
  await execa('node', [APP, 'set', version], { env: { DATABASE_URL: db.url } });
}

async function ledgerSchemaExists(db: TestDatabase): Promise<boolean> {
  return (await db.query("SELECT 1 FROM pg_namespace WHERE nspname = 'leapfrog'")).length > 0;
}

/** Every row leapfrog keeps, to prove a refusal wrote nothing. */
async function ledgerRows(db: TestDatabase): Promise<string> {
  const rows = await db.query<{ t: string }>(
    `SELECT concat_ws(' | ',
       (SELECT string_agg(row_to_json(s)::text, ',') FROM leapfrog.state s),
       (SELECT string_agg(row_to_json(r)::text, ',') FROM leapfrog.runs r),
       (SELECT string_agg(row_to_json(p)::text, ',') FROM leapfrog.phases p),
       (SELECT string_agg(row_to_json(b)::text, ',') FROM leapfrog.backups b),
       (SELECT string_agg(id::text, ',' ORDER BY id) FROM leapfrog.ledger_migrations)) AS t`,
  );
  return rows[0]?.t ?? '';
}

async function recorded(db: TestDatabase): Promise<string | undefined> {
  return (await db.query<{ release: string }>('SELECT release FROM leapfrog.state'))[0]?.release;
}

function lastJson<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as T;
}

interface StatusJson {
  current: { release: string } | null;
  appVersion: {
    release: string | null;
    expected: string | null;
    says: string | null;
    matches: string[];
    unfinished: string[];
    drift: boolean;
  } | null;
  next: string;
}

describe('baseline asks the application (appVersion)', () => {
  it('--detect picks the release the application says; status shows it agreeing', async () => {
    await using db = await createTestDatabase('e2e_appver_detect');
    await appSays(db, '1');
    const before = await leapfrog(['status'], db.url);
    expect(before.exitCode, before.stderr).toBe(0);
    expect(before.stdout).toContain('application says: "1" (the appVersion of 1.0)');
    expect(before.stdout).toContain(`next: leapfrog baseline --detect --catalog ${CATALOG}`);
    expect(await ledgerSchemaExists(db)).toBe(false);

    const detected = await leapfrog(['baseline', '--detect'], db.url);
    expect(detected.exitCode, detected.stderr).toBe(0);
    expect(detected.stdout).toContain('detected: the application says "1", the appVersion of 1.0');
    expect(detected.stdout).toContain("verified: release 1.0's own check is green");
    expect(await recorded(db)).toBe('1.0');

    const status = await leapfrog(['status', '--output', 'json'], db.url);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(lastJson<StatusJson>(status.stdout).appVersion).toEqual({
      release: '1.0',
      expected: '1',
      says: '1',
      error: null,
      matches: ['1.0'],
      unfinished: [],
      drift: false,
      problem: null,
    });
    const text = await leapfrog(['status'], db.url);
    expect(text.stdout).toContain('application says: "1", as 1.0 expects');
  });

  it('--detect and --release are exclusive, and one is needed (exit 2)', async () => {
    await using db = await createTestDatabase('e2e_appver_flags');
    const both = await leapfrog(['baseline', '--detect', '--release', '1.0'], db.url);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain('baseline needs exactly one of --release RELEASE or --detect');
    const neither = await leapfrog(['baseline'], db.url);
    expect(neither.exitCode).toBe(2);
    expect(neither.stderr).toContain('baseline needs exactly one of --release RELEASE or --detect');
  });

  it('--detect refuses an ambiguous value (exit 2), an unknown one and a missing application (exit 6), writing nothing', async () => {
    await using db = await createTestDatabase('e2e_appver_detect_refused');
    const missing = await leapfrog(['baseline', '--detect'], db.url);
    expect(missing.exitCode).toBe(6);
    expect(missing.stderr).toContain('relation "app_meta" does not exist');
    expect(missing.stderr).toContain('Known: 1.0 = "1", 2.0 = "2", 2.1 = "2", 3.0 = "3"');

    await appSays(db, '2');
    const ambiguous = await leapfrog(['baseline', '--detect', '--output', 'json'], db.url);
    expect(ambiguous.exitCode).toBe(2);
    expect(lastJson<{ error: string; details: { matches: string[] } }>(ambiguous.stdout)).toMatchObject({
      error: 'BadInputError',
      details: { matches: ['2.0', '2.1'] },
    });
    const ambiguousText = await leapfrog(['baseline', '--detect'], db.url);
    expect(ambiguousText.stderr).toContain('which 2.0, 2.1 all declare');
    expect(ambiguousText.stderr).toContain(`leapfrog baseline --release 2.1 --catalog ${CATALOG}`);

    await appSays(db, '9');
    const unknown = await leapfrog(['baseline', '--detect'], db.url);
    expect(unknown.exitCode).toBe(6);
    expect(unknown.stderr).toContain('no release of the catalog matches what the application');
    expect(unknown.stderr).toContain('says: "9"');
    expect(await ledgerSchemaExists(db)).toBe(false);
  });

  it('--release X that the application contradicts is drift (exit 6) naming the matching release; --force records it, reported', async () => {
    await using db = await createTestDatabase('e2e_appver_mismatch');
    await appSays(db, '3');
    const refused = await leapfrog(['baseline', '--release', '1.0'], db.url);
    expect(refused.exitCode).toBe(6);
    expect(refused.stderr).toContain('refusing to baseline');
    expect(refused.stderr).toContain(
      'at 1.0 (appVersion "1"): the application says "3"; that is the appVersion of release 3.0',
    );
    expect(refused.stderr).toContain(`leapfrog baseline --detect --catalog ${CATALOG}`);
    expect(await ledgerSchemaExists(db)).toBe(false);

    // --force: 1.0's own check still has the last word (it is red: the app says 3), so --no-verify.
    const forced = await leapfrog(
      ['baseline', '--release', '1.0', '--force', '--no-verify', '--output', 'json'],
      db.url,
    );
    expect(forced.exitCode, forced.stderr).toBe(0);
    expect(lastJson<{ appVersion: unknown }>(forced.stdout).appVersion).toEqual({
      expected: '1',
      says: '3',
      error: null,
      detected: false,
      forced: true,
      matches: ['3.0'],
    });
    expect(await recorded(db)).toBe('1.0');
  });
});

describe('drift: the application moved without leapfrog', () => {
  it('status shows it; apply and step refuse with exit 6 before the lock and write nothing; baseline --detect --force recovers', async () => {
    await using db = await createTestDatabase('e2e_appver_drift');
    await appSays(db, '1');
    expect((await leapfrog(['baseline', '--release', '1.0'], db.url)).exitCode).toBe(0);
    // A newer application started against the database and migrated it itself.
    await appSays(db, '3');
    const rows = await ledgerRows(db);

    const status = await leapfrog(['status', '--output', 'json'], db.url);
    expect(status.exitCode, status.stderr).toBe(0);
    const report = lastJson<StatusJson>(status.stdout);
    expect(report.current?.release).toBe('1.0');
    expect(report.appVersion).toMatchObject({
      release: '1.0',
      expected: '1',
      says: '3',
      matches: ['3.0'],
      drift: true,
    });
    expect(report.next).toContain('leapfrog baseline --detect --force');
    const text = await leapfrog(['status'], db.url);
    expect(text.stdout).toContain('application says: "3": DRIFT: the appVersion of 3.0, not 1.0\'s "1"');

    const apply = await leapfrog(['apply', '--to', '3.0'], db.url);
    expect(apply.exitCode).toBe(6);
    expect(apply.stderr).toContain('drift: the ledger of');
    expect(apply.stderr).toContain(
      'records release 1.0 (appVersion "1"), but the application says "3"; that is the appVersion of release 3.0. Nothing was run or recorded',
    );
    expect(apply.stderr).toContain(`leapfrog baseline --detect --force --catalog ${CATALOG}`);
    const json = await leapfrog(['apply', '--to', '3.0', '--output', 'json'], db.url);
    expect(json.exitCode).toBe(6);
    expect(lastJson<{ error: string; details: unknown }>(json.stdout)).toMatchObject({
      error: 'DriftError',
      details: { release: '1.0', expected: '1', appVersion: '3', matches: ['3.0'] },
    });

    const work = await mkdtemp(join(tmpdir(), 'lf-appver-'));
    try {
      const planFile = join(work, 'plan.json');
      const plan = await leapfrog(['plan', '--from', '1.0', '--to', '3.0', '--out', planFile], null);
      expect(plan.exitCode, plan.stderr).toBe(0);
      const step = await leapfrog(['step', '--plan', planFile], db.url);
      expect(step.exitCode).toBe(6);
      expect(step.stderr).toContain('drift: the ledger of');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    expect(await ledgerRows(db)).toBe(rows);

    const recovered = await leapfrog(['baseline', '--detect', '--force'], db.url);
    expect(recovered.exitCode, recovered.stderr).toBe(0);
    expect(recovered.stdout).toContain('replaced the recorded release');
    expect(await recorded(db)).toBe('3.0');
    const nothing = await leapfrog(['apply', '--to', '3.0'], db.url);
    expect(nothing.exitCode, nothing.stderr).toBe(0);
  });

  it('a step that stopped after its schema ran is no drift: status says mid-step and the re-run resumes it', async () => {
    await using db = await createTestDatabase('e2e_appver_resume');
    await appSays(db, '1');
    expect((await leapfrog(['baseline', '--detect'], db.url)).exitCode).toBe(0);
    // The check of 2.0 fails while app_fail exists: the step stops after 2.0's schema command ran.
    await db.query('CREATE TABLE app_fail ()');
    const failed = await leapfrog(['apply', '--to', '3.0'], db.url);
    expect(failed.exitCode).not.toBe(0);
    expect(failed.exitCode).not.toBe(6);
    expect(await recorded(db)).toBe('1.0');

    const status = await leapfrog(['status', '--output', 'json'], db.url);
    expect(lastJson<StatusJson>(status.stdout).appVersion).toMatchObject({
      release: '1.0',
      says: '2',
      unfinished: ['2.0'],
      drift: false,
    });
    expect((await leapfrog(['status'], db.url)).stdout).toContain('mid-step to 2.0');

    await db.query('DROP TABLE app_fail');
    const resumed = await leapfrog(['apply', '--to', '3.0'], db.url);
    expect(resumed.exitCode, resumed.stderr).toBe(0);
    expect(await recorded(db)).toBe('3.0');
    expect((await db.query<{ version: string }>('SELECT version FROM app_meta'))[0]?.version).toBe('3');
  });
});
