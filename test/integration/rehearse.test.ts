import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '../../src/pg/with-client.js';
import { fingerprintDatabase, type DatabaseFingerprint } from '../helpers/database-fingerprint.js';
import { resolvePgTools } from '../../src/backup/pg-tools.js';
import { prepareBackup, takeBackup } from '../../src/backup/take-backup.js';
import { loadCatalog } from '../../src/catalog/load-catalog.js';
import { seedDemoDatabase } from '../../src/demo/seed.js';
import { RefusedError } from '../../src/errors/index.js';
import { openPostgresLedger } from '../../src/ledger/open-ledger.js';
import {
  databaseName,
  databaseTargetFromUrl,
  withDatabase,
  type DatabaseTarget,
} from '../../src/pg/database-target.js';
import { writePlanFile } from '../../src/plan-file/plan-file.js';
import { planPath } from '../../src/planner/plan-path.js';
import { stepPhases } from '../../src/runner/step-phases.js';
import { defaultScratch, rehearse, type RehearseOptions } from '../../src/rehearse/rehearse.js';
import { adminUrl, createTestDatabase, type TestDatabase } from '../helpers/database.js';

const ROOT = resolve(import.meta.dirname, '../..');
const CATALOG = join(ROOT, 'release-images');
const silent = { out: () => undefined, err: () => undefined, isTTY: false };

let work: string;
let planFile: string;

function fingerprint(target: DatabaseTarget): Promise<DatabaseFingerprint> {
  return withClient(target, fingerprintDatabase);
}

async function production(prefix: string): Promise<TestDatabase> {
  const db = await createTestDatabase(prefix);
  await seedDemoDatabase(db.url, { rows: 2000, catalogDir: CATALOG });
  const ledger = await openPostgresLedger(databaseTargetFromUrl(db.url), { schema: 'leapfrog', migrate: true });
  await using l = ledger!;
  await l.setCurrentRelease({ release: '2023.1', version: '2023.1.0' });
  return db;
}

async function databaseExists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

function options(
  source: RehearseOptions['source'],
  scratch: DatabaseTarget,
  keep: boolean,
  catalogDir = CATALOG,
  plan = planFile,
): RehearseOptions {
  return {
    planFile: plan,
    source,
    scratch,
    keep,
    reportDir: join(work, 'reports'),
    run: {
      catalogDir,
      ledgerSchema: 'leapfrog',
      executorKind: 'process',
      output: 'text',
      lockTimeoutMs: 5_000,
      databaseUrlEnv: 'DATABASE_URL',
      sink: silent,
    },
  };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lf-rehearse-'));
  planFile = join(work, '2023.1-to-2024.1.json');
  await writePlanFile(planFile, planPath(await loadCatalog(CATALOG), '2023.1', '2024.1'), {
    createdAt: new Date().toISOString(),
    leapfrogVersion: 'test',
  });
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('rehearse', () => {
  it('by clone: runs the whole plan on a scratch copy, writes JSON and HTML, drops the copy; production untouched', async () => {
    await using db = await production('reh_clone');
    const prod = databaseTargetFromUrl(db.url);
    const before = await fingerprint(prod);
    const scratch = defaultScratch(prod);

    const outcome = await rehearse(options({ kind: 'clone', production: prod }, scratch, false));
    expect(outcome.error).toBeNull();
    const { report } = outcome;
    expect(report.status).toBe('succeeded');
    expect(report.finalRelease).toBe('2024.1');
    expect(report.source).toEqual({ kind: 'clone', database: prod.display });
    expect(report.timeline[0]?.phase).toBe('copy');
    const phases = report.timeline.filter((e) => e.phase !== 'copy');
    const release = (await loadCatalog(CATALOG)).releases.find((r) => r.id === '2024.1');
    expect(phases.map((e) => `${e.release}:${e.phase}:${e.name}`)).toEqual(
      stepPhases(release!).map((p) => `2024.1:${p.phase}:${p.name}`),
    );
    expect(phases.map((e) => e.phase)).toEqual(expect.arrayContaining(['schema', 'data', 'check']));
    expect(phases.every((e) => e.status === 'succeeded' && e.durationMs >= 0)).toBe(true);
    // Every one of the 2,000 seeded orders is backfilled by 2024.1's data migration (at least).
    expect(report.rowsMigrated).toBeGreaterThanOrEqual(2000);
    expect(report.rowsMigrated).toBe(phases.reduce((sum, e) => sum + (e.rowsMigrated ?? 0), 0));
    expect(phases.find((e) => e.phase === 'check')?.checks.length).toBeGreaterThan(0);

    const json = JSON.parse(await readFile(outcome.jsonPath, 'utf8')) as { status: string; timeline: unknown[] };
    expect(json.status).toBe('succeeded');
    expect(json.timeline).toHaveLength(report.timeline.length);
    const html = await readFile(outcome.htmlPath, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('2024.1 data');
    expect(html).not.toMatch(/<script|<link|\bsrc=|\bhref=/);
    for (const text of [await readFile(outcome.jsonPath, 'utf8'), html])
      expect(text).not.toContain(new URL(db.url).password);

    expect(await databaseExists(databaseName(scratch))).toBe(false);
    expect(await fingerprint(prod)).toEqual(before);
    const state = await db.query<{ release: string }>('SELECT release FROM leapfrog.state');
    expect(state[0]?.release).toBe('2023.1');
  });

  it('from a backup, keeping the scratch database at the target release; production untouched', async () => {
    await using db = await production('reh_backup');
    const prod = databaseTargetFromUrl(db.url);
    const tools = await resolvePgTools(undefined, {});
    const backup = await takeBackup(
      await prepareBackup(prod, { dir: join(work, 'backups'), format: 'custom', jobs: 1, tools }),
      { release: '2023.1', version: '2023.1.0', runId: null },
    );
    const before = await fingerprint(prod);
    const scratch = withDatabase(prod, `${db.name}_scratch`);
    try {
      const outcome = await rehearse(
        options({ kind: 'backup', ref: backup.path, backupDir: join(work, 'backups'), tools, jobs: 1 }, scratch, true),
      );
      expect(outcome.error).toBeNull();
      expect(outcome.report.source).toEqual({ kind: 'backup', path: backup.path, sha256: backup.sha256 });
      expect(outcome.report.scratch.kept).toBe(true);
      const client = new pg.Client({ connectionString: scratch.url });
      await client.connect();
      const rows = await client
        .query<{ release: string }>('SELECT release FROM leapfrog.state')
        .finally(() => client.end());
      expect(rows.rows[0]?.release).toBe('2024.1');
      expect(await fingerprint(prod)).toEqual(before);
    } finally {
      const admin = new pg.Client({ connectionString: adminUrl() });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${db.name}_scratch" WITH (FORCE)`).finally(() => admin.end());
    }
  });

  it('a failing rehearsal still writes its report, names the failure, and drops the copy', async () => {
    await using db = await production('reh_fail');
    const prod = databaseTargetFromUrl(db.url);
    const before = await fingerprint(prod);
    const broken = join(work, 'broken', 'release-images');
    await cp(CATALOG, broken, { recursive: true });
    const manifest = join(broken, '2024.1', 'release.yaml');
    await writeFile(
      manifest,
      (await readFile(manifest, 'utf8')).replace(
        '    - { name: db, run: [leapfrog-kit, schema] }',
        '    - { name: db, run: [leapfrog-kit, schema] }\n    - { name: broken, run: [sh, -c, "exit 7"] }',
      ),
    );
    const brokenPlan = join(work, 'broken-plan.json');
    await writePlanFile(brokenPlan, planPath(await loadCatalog(broken), '2023.1', '2024.1'), {
      createdAt: new Date().toISOString(),
      leapfrogVersion: 'test',
    });
    process.env['LEAPFROG_KIT_BUNDLE'] = join(ROOT, 'dist/kit/leapfrog-kit.mjs');
    const scratch = defaultScratch(prod);
    const outcome = await rehearse(options({ kind: 'clone', production: prod }, scratch, false, broken, brokenPlan));
    expect(outcome.error?.exitCode).toBe(1);
    expect(outcome.report.status).toBe('failed');
    expect(outcome.report.timeline.find((e) => e.name === 'broken')?.status).toBe('failed');
    expect(await readFile(outcome.htmlPath, 'utf8')).toContain('stroke="#c5221f"');
    expect(await databaseExists(databaseName(scratch))).toBe(false);
    expect(await fingerprint(prod)).toEqual(before);
  });

  it('refuses to clone a database that is in use, without disconnecting anyone', async () => {
    await using db = await production('reh_busy');
    const prod = databaseTargetFromUrl(db.url);
    const session = new pg.Client({ connectionString: db.url });
    await session.connect();
    try {
      await expect(
        rehearse(options({ kind: 'clone', production: prod }, defaultScratch(prod), false)),
      ).rejects.toBeInstanceOf(RefusedError);
      expect((await session.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
    } finally {
      await session.end();
    }
  });
});
